"""The analysis-over-time rules as pure functions: failure limit, consecutive limit, inconclusive limit,
insufficient data that is never a pass or a fail, early stop and the watch's end."""

from __future__ import annotations

import datetime

import pytest

from rollcheck.decide import AnalysisRules
from rollcheck.decide import analyse
from rollcheck.record._analysis import AnalysisMeasurement
from rollcheck.record._analysis import AnalysisStatus
from rollcheck.record._analysis import MeasurementOutcome

P, F, U, N = (
    MeasurementOutcome.PASSED,
    MeasurementOutcome.FAILED,
    MeasurementOutcome.INSUFFICIENT,
    MeasurementOutcome.INCONCLUSIVE,
)
RULES = AnalysisRules(failure_limit=3, consecutive_failure_limit=2, inconclusive_limit=3)
T0 = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.UTC)


def series(
    *outcomes: MeasurementOutcome, check: str = "checks/test_error_rate.py::test_error_rate"
) -> list[AnalysisMeasurement]:
    return [
        AnalysisMeasurement(round=n, check=check, outcome=o, at=T0 + datetime.timedelta(seconds=5 * n), message=f"m{n}")
        for n, o in enumerate(outcomes)
    ]


@pytest.mark.parametrize(
    ("outcomes", "status", "rule"),
    [
        ((P, P, P), AnalysisStatus.INCOMPLETE, None),
        ((P, F, P, F, P), AnalysisStatus.INCOMPLETE, None),
        ((P, F, P, F, P, F), AnalysisStatus.FAILED, "failure-limit"),
        ((P, F, F), AnalysisStatus.FAILED, "consecutive-failure-limit"),
        # Unjudged measurements neither break nor extend a run of failures.
        ((F, U, F), AnalysisStatus.FAILED, "consecutive-failure-limit"),
        ((F, N, P, F), AnalysisStatus.INCOMPLETE, None),
        ((U, P, N, P, U), AnalysisStatus.INCONCLUSIVE, "inconclusive-limit"),
    ],
)
def test_rules_while_watching(
    outcomes: tuple[MeasurementOutcome, ...], status: AnalysisStatus, rule: str | None
) -> None:
    result = analyse(series(*outcomes), RULES, ended=False)
    assert (result.status, result.deciding_rule) == (status, rule)


def test_insufficient_data_is_never_a_pass_or_a_fail() -> None:
    relaxed = AnalysisRules(failure_limit=1, consecutive_failure_limit=1, inconclusive_limit=100)
    result = analyse(series(U, U, U, U), relaxed, ended=True)
    assert result.status is AnalysisStatus.INCONCLUSIVE
    assert result.deciding_rule == "no-judged-measurement"
    assert "never a pass" in result.reason


@pytest.mark.parametrize("outcomes", [(U, F, N), (F,), (N, F)])
def test_failed_whenever_judged_but_below_the_limits_is_inconclusive_not_passed(
    outcomes: tuple[MeasurementOutcome, ...],
) -> None:
    result = analyse(series(*outcomes), RULES, ended=True)
    assert (result.status, result.deciding_rule) == (AnalysisStatus.INCONCLUSIVE, "no-passed-measurement")
    [check] = result.checks
    assert (check.status, check.decided_at_round) == (AnalysisStatus.INCONCLUSIVE, None)
    assert f"1 failed, {len(outcomes) - 1} could not judge, 0 passed of {len(outcomes)}" in check.reason
    assert "below the failure-limit 3 and the consecutive-failure-limit 2" in check.reason
    assert "not a pass" in check.reason
    # The same measurements while the watch goes on are undecided: a later pass would still pass the check.
    assert analyse(series(*outcomes), RULES, ended=False).status is AnalysisStatus.INCOMPLETE


def test_never_judged_and_failed_whenever_judged_are_named_apart() -> None:
    never = series(U, N, check="checks/test_latency.py::test_p99_latency")
    failing = series(F, U)
    result = analyse([*never, *failing], RULES, ended=True)
    assert {c.check: c.deciding_rule for c in result.checks} == {
        "checks/test_latency.py::test_p99_latency": "no-judged-measurement",
        "checks/test_error_rate.py::test_error_rate": "no-passed-measurement",
    }
    assert "no measurement could judge" in result.checks[0].reason


def test_watch_end_passes_a_check_within_every_limit() -> None:
    result = analyse(series(P, F, P, U, P), RULES, ended=True)
    assert (result.status, result.deciding_rule) == (AnalysisStatus.PASSED, "watch-elapsed")
    [check] = result.checks
    assert "1 failed, 1 could not judge, 3 passed" in check.reason


def test_the_first_limit_reached_in_time_decides_and_names_the_round() -> None:
    # Round 2 reaches the consecutive limit before anything else could.
    result = analyse(series(P, F, F, F), RULES, ended=False)
    assert result.deciding_rule == "consecutive-failure-limit"
    assert result.checks[0].decided_at_round == 2
    assert "at round 2" in result.reason
    assert "last: m2" in result.reason, "the deciding measurement's own message is kept"


def test_one_failed_check_fails_the_analysis_however_the_others_do() -> None:
    good = series(P, P, P, check="checks/test_latency.py::test_p99_latency")
    bad = series(P, F, F)
    result = analyse([*good, *bad], RULES, ended=False)
    assert result.status is AnalysisStatus.FAILED
    assert result.reason.startswith("checks/test_error_rate.py::test_error_rate: ")
    assert {c.check: c.status for c in result.checks} == {
        "checks/test_latency.py::test_p99_latency": AnalysisStatus.INCOMPLETE,
        "checks/test_error_rate.py::test_error_rate": AnalysisStatus.FAILED,
    }


def test_failure_beats_inconclusive_and_the_earliest_decision_is_named() -> None:
    unsure = series(N, N, N, check="checks/test_latency.py::test_p99_latency")
    late = series(P, P, P, F, F)
    result = analyse([*unsure, *late], RULES, ended=False)
    assert result.status is AnalysisStatus.FAILED
    assert result.deciding_rule == "consecutive-failure-limit"


def test_limits_of_one_fail_on_the_first_failure() -> None:
    strict = AnalysisRules(failure_limit=1, consecutive_failure_limit=1, inconclusive_limit=1)
    assert analyse(series(P, F), strict, ended=False).status is AnalysisStatus.FAILED
    assert analyse(series(P, U), strict, ended=False).status is AnalysisStatus.INCONCLUSIVE


def test_nothing_measured_is_inconclusive_at_the_end_and_undecided_before() -> None:
    assert analyse([], RULES, ended=False).status is AnalysisStatus.INCOMPLETE
    ended = analyse([], RULES, ended=True)
    assert (ended.status, ended.deciding_rule) == (AnalysisStatus.INCONCLUSIVE, "no-judged-measurement")
