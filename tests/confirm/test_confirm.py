"""Flaky-check confirmation end to end through pytest: re-runs with fresh fixtures and backoff, the flaky
outcome, the marker against the default, and what is never re-run."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from rollcheck import ExitCode
from rollcheck.plugins._confirm import ConfirmPolicy

FLAKY_ONCE = """
import pytest
from runlog import note

SETUPS = []

@pytest.fixture
def fresh():
    SETUPS.append(1)
    return len(SETUPS)

def test_sometimes(fresh):
    run = note("test_sometimes")
    assert fresh == run, "the fixture was not set up again for the re-run"
    assert run > 1, "checkout answered 502 once"
"""


def test_failed_then_passed_is_flaky_reported_and_never_rolled_back(run_checks: Any) -> None:
    run = run_checks(FLAKY_ONCE, "--rollcheck-confirm-backoff=0.1")
    check = run.check("test_sometimes")
    assert (check["outcome"], check["attempts"], check["gating"]) == ("flaky", 2, True)
    assert check["message"].startswith("flaky: failed 1 time(s), then passed on attempt 2; first failure: ")
    assert "checkout answered 502 once" in check["message"]
    assert run.report["verdict"] == "passed"
    assert run.report["rollback"]["action"] == "not_needed"
    assert "1 flaky: failed, then passed when re-run: test_checks.py::test_sometimes" in run.report["reason"]
    assert run.result.ret == ExitCode.PASSED
    assert len(run.runs("test_sometimes")) == 2
    run.result.stdout.fnmatch_lines(["test_checks.py R~*", "  flaky (gating, custom): test_checks.py::test_sometimes*"])
    run.result.stdout.re_match_lines([r"=+ 1 rerun, 1 flaky in .*"])


ALWAYS_FAILING = """
import pytest
from runlog import note

@pytest.mark.rollcheck_check(category="error_rate")
@pytest.mark.rollcheck_confirm(reruns=2, backoff=0.4)
def test_errors(evidence):
    run = note("test_errors")
    evidence.record("sum(errors)", 0.3, threshold=0.01)
    assert False, f"error rate 0.3 > max 0.01 (attempt {run})"
"""


def test_a_reproduced_failure_fails_after_the_reruns_with_doubling_backoff(run_checks: Any) -> None:
    run = run_checks(ALWAYS_FAILING)
    check = run.check("test_errors")
    assert (check["outcome"], check["attempts"]) == ("failed", 3)
    assert check["message"] == "error rate 0.3 > max 0.01 (attempt 3)", "the last attempt's own words"
    assert [m["value"] for m in check["measurements"]] == [0.3, 0.3, 0.3], "every attempt's evidence is kept"
    assert run.report["verdict"] == "failed"
    assert run.result.ret == ExitCode.FAILED
    started = run.runs("test_errors")
    gaps = [later - earlier for earlier, later in itertools.pairwise(started)]
    assert len(gaps) == 2
    assert 0.4 <= gaps[0] < 2.0
    assert 0.8 <= gaps[1] < 2.4
    run.result.stdout.re_match_lines([r"=+ 1 failed, 2 rerun in .*"])


MARKER_AND_DEFAULT = """
import pytest
from runlog import note

@pytest.mark.rollcheck_confirm(reruns=1, backoff=0)
def test_confirmed():
    assert note("test_confirmed") > 1

def test_default():
    note("test_default")
    assert False, "always"
"""


def test_the_marker_overrides_the_global_default(run_checks: Any) -> None:
    run = run_checks(MARKER_AND_DEFAULT, "--rollcheck-confirm-reruns=0")
    assert (run.check("test_confirmed")["outcome"], run.check("test_confirmed")["attempts"]) == ("flaky", 2)
    assert (run.check("test_default")["outcome"], run.check("test_default")["attempts"]) == ("failed", 1)
    assert len(run.runs("test_default")) == 1


def test_by_default_a_failed_gating_check_is_rerun_once(run_checks: Any) -> None:
    run = run_checks(MARKER_AND_DEFAULT, "--rollcheck-confirm-backoff=0")
    assert (run.check("test_default")["outcome"], run.check("test_default")["attempts"]) == ("failed", 2)
    assert len(run.runs("test_default")) == 2


NEVER_RERUN = """
import pytest
import rollcheck
from runlog import note

@pytest.mark.rollcheck_advisory(severity="warning")
def test_advisory():
    note("test_advisory")
    assert False, "p50 a bit high"

def test_no_traffic():
    note("test_no_traffic")
    raise rollcheck.InsufficientData("3 requests in the window, fewer than the minimum 20")

@pytest.fixture
def broken():
    raise RuntimeError("fixture bug")

def test_broken_setup(broken):
    pass
"""


def test_advisory_inconclusive_and_broken_checks_are_not_rerun(run_checks: Any) -> None:
    run = run_checks(NEVER_RERUN, "--rollcheck-confirm-reruns=3", "--rollcheck-confirm-backoff=0")
    assert (run.check("test_advisory")["outcome"], run.check("test_advisory")["attempts"]) == ("failed", 1)
    assert (run.check("test_no_traffic")["outcome"], run.check("test_no_traffic")["attempts"]) == ("inconclusive", 1)
    assert (run.check("test_broken_setup")["outcome"], run.check("test_broken_setup")["attempts"]) == ("error", 1)
    assert len(run.runs("test_advisory")) == len(run.runs("test_no_traffic")) == 1
    assert run.result.ret == ExitCode.INCONCLUSIVE


RERUN_CANNOT_MEASURE = """
import pytest
import rollcheck
from runlog import note

@pytest.mark.rollcheck_confirm(reruns=1, backoff=0)
def test_latency():
    if note("test_latency") == 1:
        assert False, "p99 0.9s > max 0.5s"
    raise rollcheck.MetricsUnavailable("Prometheus timed out")
"""


def test_a_failure_the_rerun_could_not_measure_is_inconclusive_not_a_rollback(run_checks: Any) -> None:
    run = run_checks(RERUN_CANNOT_MEASURE)
    check = run.check("test_latency")
    assert (check["outcome"], check["attempts"]) == ("inconclusive", 2)
    assert "Prometheus timed out (on re-run 1, after a failure: p99 0.9s > max 0.5s)" in check["message"]
    assert run.report["verdict"] == "inconclusive"
    assert run.result.ret == ExitCode.INCONCLUSIVE


def test_a_bad_marker_is_a_usage_error_naming_the_value(run_checks: Any) -> None:
    run = run_checks("import pytest\n@pytest.mark.rollcheck_confirm(reruns=-1)\ndef test_x():\n    pass\n")
    assert run.result.ret == ExitCode.USAGE_ERROR
    run.result.stderr.fnmatch_lines(
        ["*test_checks.py::test_x: @pytest.mark.rollcheck_confirm: reruns=-1 must be a whole number from 0 to 10*"]
    )


@pytest.mark.parametrize(
    ("marker", "problem"),
    [
        ("reruns=2000", "reruns=2000 must be a whole number from 0 to 10"),
        ("reruns=11", "reruns=11 must be a whole number from 0 to 10"),
        ("backoff=3600", "backoff=3600 must be a number of seconds from 0 to 60"),
        ("backoff=float('inf')", "backoff=inf must be a number of seconds from 0 to 60"),
    ],
)
def test_a_marker_asking_for_too_many_reruns_or_too_long_a_backoff_is_a_usage_error(
    run_checks: Any, marker: str, problem: str
) -> None:
    run = run_checks(f"import pytest\n@pytest.mark.rollcheck_confirm({marker})\ndef test_x():\n    assert False\n")
    assert run.result.ret == ExitCode.USAGE_ERROR
    run.result.stderr.fnmatch_lines([f"*test_checks.py::test_x: @pytest.mark.rollcheck_confirm: {problem}"])
    assert not (run.path / "runs.log").exists() or "test_x" not in (run.path / "runs.log").read_text()


def test_the_largest_allowed_marker_is_accepted(run_checks: Any) -> None:
    run = run_checks("import pytest\n@pytest.mark.rollcheck_confirm(reruns=10, backoff=60)\ndef test_x():\n    pass\n")
    assert run.result.ret == ExitCode.PASSED


def test_run_wide_reruns_beyond_the_bound_are_a_usage_error(run_checks: Any) -> None:
    run = run_checks("def test_x():\n    pass\n", "--rollcheck-confirm-reruns=2000")
    assert run.result.ret == ExitCode.USAGE_ERROR
    run.result.stderr.fnmatch_lines(["*confirm_reruns=2000 (from *): must be a whole number from 0 to 10*"])


def test_the_wait_before_a_rerun_doubles_up_to_a_minute_and_never_overflows() -> None:
    policy = ConfirmPolicy(reruns=10, backoff=1.0)
    assert [policy.delay(rerun) for rerun in range(1, 11)] == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]
    assert ConfirmPolicy(reruns=2000, backoff=60.0).delay(2000) == 60.0  # 60 * 2**1999 would overflow a float
    assert ConfirmPolicy(reruns=1, backoff=0.0).delay(5) == 0.0
