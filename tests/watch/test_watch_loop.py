"""The watch loop through real pytest runs (pytester subprocesses): metric checks repeat every interval, the
rules stop the watch at the right round, other checks run once, and bad values are usage errors."""

from __future__ import annotations

import time

import pytest

from rollcheck import ExitCode

# The rounds are seconds apart and the tests bound when the watch stops, so they run without neighbours.
pytestmark = pytest.mark.timing

# A metric check whose error rate goes bad from its FLIP_AT-th measurement on; it counts its measurements in a
# file, since each round is a new call of the same test. A health check beside it counts its runs the same way.
CHECKS = """
import pathlib
import pytest

HERE = pathlib.Path(__file__).parent


def bump(name):
    path = HERE / name
    count = int(path.read_text()) if path.exists() else 0
    path.write_text(str(count + 1))
    return count


@pytest.mark.rollcheck_metric
@pytest.mark.rollcheck_check(category="error_rate")
def test_error_rate(evidence):
    n = bump("measurements.txt")
    rate = 0.4 if n >= FLIP_AT else 0.001
    evidence.record("sum(rate(errors[1s])) / sum(rate(requests[1s]))", rate, threshold=0.01, window="1s")
    assert rate <= 0.01, f"error rate {rate} > max 0.01 (measurement {n})"


@pytest.mark.rollcheck_check(category="health")
def test_health():
    bump("health.txt")
"""


def counted(rollcheck_tester, name: str) -> int:
    return int((rollcheck_tester.pytester.path / name).read_text())


def test_a_check_that_goes_bad_is_caught_at_the_round_the_rules_say(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(CHECKS.replace("FLIP_AT", "3"))
    started = time.monotonic()
    run = rollcheck_tester.run("--rollcheck", "--rollcheck-watch=30s", "--rollcheck-interval=1s")
    elapsed = time.monotonic() - started
    assert run.result.ret == ExitCode.FAILED, run.result.stdout.str()[-3000:]
    analysis = run.report["analysis"]
    # Measurements 0-2 pass, 3 and 4 fail: two in a row reach the default consecutive-failure-limit of 2.
    assert (analysis["status"], analysis["deciding_rule"], analysis["rounds"]) == (
        "failed",
        "consecutive-failure-limit",
        4,
    )
    assert [m["outcome"] for m in analysis["measurements"]] == ["passed"] * 3 + ["failed"] * 2
    assert [m["round"] for m in analysis["measurements"]] == [0, 1, 2, 3, 4]
    last = analysis["measurements"][-1]
    assert (last["value"], last["threshold"], last["window"]) == (0.4, 0.01, "1s")
    assert "sum(rate(errors[1s]))" in last["query"]
    assert elapsed < 20, f"the watch stopped early, not after 30s ({elapsed:.1f}s)"
    assert counted(rollcheck_tester, "health.txt") == 1, "non-metric checks run once"
    check = run.check("test_error_rate")
    assert check["outcome"] == "failed"
    assert "consecutive-failure-limit 2 at round 4" in check["message"]
    assert run.report["verdict"] == "failed"
    run.result.stdout.fnmatch_lines(["rollcheck watch round 4: test_error_rate failed", "*analysis over time: failed*"])


def test_an_isolated_failure_within_the_limits_passes(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(CHECKS.replace("n >= FLIP_AT", "n == 1"))
    # Confirmation off: its immediate re-run would pass and make the failure flaky before the analysis saw it.
    run = rollcheck_tester.run(
        "--rollcheck", "--rollcheck-watch=3s", "--rollcheck-interval=1s", "--rollcheck-confirm-reruns=0"
    )
    assert run.result.ret == ExitCode.PASSED, run.result.stdout.str()[-3000:]
    analysis = run.report["analysis"]
    assert (analysis["status"], analysis["deciding_rule"]) == ("passed", "watch-elapsed")
    assert [m["outcome"] for m in analysis["measurements"]] == ["passed", "failed", "passed", "passed"]
    assert run.check("test_error_rate")["outcome"] == "passed", "the analysis judges, not the first repetition"


def test_an_always_passing_check_is_watched_for_the_whole_duration(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(CHECKS.replace("FLIP_AT", "1000"))
    started = time.monotonic()
    run = rollcheck_tester.run("--rollcheck", "--rollcheck-watch=4s", "--rollcheck-interval=1s")
    elapsed = time.monotonic() - started
    assert run.result.ret == ExitCode.PASSED, run.result.stdout.str()[-3000:]
    analysis = run.report["analysis"]
    assert (analysis["status"], analysis["rounds"], analysis["watch_s"], analysis["interval_s"]) == (
        "passed",
        4,
        4.0,
        1.0,
    )
    assert counted(rollcheck_tester, "measurements.txt") == 5
    assert elapsed >= 4
    assert run.report["verdict"] == "passed"


def test_too_little_evidence_makes_the_analysis_inconclusive_never_a_pass(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(
        """
        import pytest
        import rollcheck

        @pytest.mark.rollcheck_metric
        def test_p99(evidence):
            evidence.record("sum(increase(requests[1s]))", 3, threshold=20, window="1s")
            raise rollcheck.InsufficientData("3 requests in the 1s window, fewer than the minimum of 20")
        """
    )
    run = rollcheck_tester.run(
        "--rollcheck", "--rollcheck-watch=20s", "--rollcheck-interval=1s", "--rollcheck-inconclusive-limit=2"
    )
    assert run.result.ret == ExitCode.INCONCLUSIVE, run.result.stdout.str()[-3000:]
    analysis = run.report["analysis"]
    assert (analysis["status"], analysis["deciding_rule"], analysis["rounds"]) == (
        "inconclusive",
        "inconclusive-limit",
        1,
    )
    assert {m["outcome"] for m in analysis["measurements"]} == {"insufficient"}
    assert run.report["rollback"]["action"] == "not_needed"


def test_a_failed_health_check_is_not_watched_away(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(
        CHECKS.replace("FLIP_AT", "1000").replace('bump("health.txt")', 'bump("health.txt"); assert False, "503"')
    )
    started = time.monotonic()
    run = rollcheck_tester.run("--rollcheck", "--rollcheck-watch=30s", "--rollcheck-interval=1s")
    assert run.result.ret == ExitCode.FAILED
    assert time.monotonic() - started < 20, "no watch once the release has failed anyway"
    assert run.report["analysis"]["reason"].startswith("not watched: a gating check already failed")
    assert counted(rollcheck_tester, "measurements.txt") == 1


def test_sigterm_during_the_watch_interrupts_without_a_verdict(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(
        CHECKS.replace("FLIP_AT", "1000").replace(
            '    n = bump("measurements.txt")\n',
            '    n = bump("measurements.txt")\n'
            "    if n == 2:\n"
            "        import os, signal\n"
            "        os.kill(os.getpid(), signal.SIGTERM)  # what CI does to cancel a job\n",
        )
    )
    run = rollcheck_tester.run("--rollcheck", "--rollcheck-watch=30s", "--rollcheck-interval=1s")
    assert run.result.ret == ExitCode.INTERRUPTED, run.result.stdout.str()[-3000:]
    assert run.report["rollback"]["action"] == "not_needed"
    analysis = run.report["analysis"]
    assert analysis["status"] == "incomplete"
    assert len(analysis["measurements"]) == 2, "the measurements before the signal are kept"


def test_bad_watch_values_are_one_line_usage_errors(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(CHECKS.replace("FLIP_AT", "1000"))
    cases = [
        (("--rollcheck-watch=soon",), "--rollcheck-watch='soon' (from command line): must be a duration"),
        (("--rollcheck-watch=1m", "--rollcheck-interval=200ms"), "--rollcheck-interval='200ms'*at least 1s*"),
        (("--rollcheck-watch=2s", "--rollcheck-interval=5s"), "--rollcheck-watch='2s'*at least the interval (5s*"),
        (("--rollcheck-failure-limit=0",), "--rollcheck-failure-limit='0'*1 or more*"),
        (("-n", "1", "--rollcheck-watch=2s", "--rollcheck-interval=1s"), "--watch cannot run with pytest-xdist (-n)*"),
    ]
    for args, message in cases:
        run = rollcheck_tester.run("--rollcheck", *args)
        assert run.result.ret == ExitCode.USAGE_ERROR, args
        errors = [line for line in run.result.stderr.lines if line.strip()]
        assert len(errors) == 1, errors
        run.result.stderr.fnmatch_lines([f"ERROR: {message}*"])


def test_a_health_check_that_only_flaked_does_not_stop_the_watch(rollcheck_tester) -> None:
    # The first health probe fails and flaky-check confirmation re-runs it, which passes: not a failure.
    rollcheck_tester.pytester.makepyfile(
        CHECKS.replace("FLIP_AT", "1000").replace(
            'bump("health.txt")', 'assert bump("health.txt") > 0, "503 on the first probe"'
        )
    )
    run = rollcheck_tester.run("--rollcheck", "--rollcheck-watch=2s", "--rollcheck-interval=1s")
    assert run.result.ret == ExitCode.PASSED, run.result.stdout.str()[-3000:]
    assert run.check("test_health")["outcome"] == "flaky"
    assert (run.report["analysis"]["status"], run.report["analysis"]["rounds"]) == ("passed", 2)
