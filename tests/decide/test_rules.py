"""The verdict, decision and exit-code rules, as pure functions: every row of the policy table."""

from __future__ import annotations

import dataclasses

import pytest

from rollcheck import ExitCode
from rollcheck.decide import Step
from rollcheck.decide import decide
from rollcheck.decide import exit_code
from rollcheck.decide import judge
from rollcheck.record import CheckCategory
from rollcheck.record import CheckOutcome
from rollcheck.record import CheckResult
from rollcheck.record import RollbackAction
from rollcheck.record import RollbackRecord
from rollcheck.record import Severity
from rollcheck.record import Verdict
from rollcheck.settings import OnInconclusive
from rollcheck.settings import Settings
from rollcheck.target import TargetRef

TARGET = TargetRef.parse("deployment/shop")


def check(outcome: CheckOutcome, *, gating: bool = True, name: str = "c") -> CheckResult:
    return CheckResult(
        id=f"checks/test_x.py::{name}",
        category=CheckCategory.CUSTOM,
        outcome=outcome,
        gating=gating,
        severity=Severity.CRITICAL,
        duration_s=0.1,
        message="",
    )


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ([CheckOutcome.PASSED, CheckOutcome.PASSED], Verdict.PASSED),
        ([CheckOutcome.PASSED, CheckOutcome.FAILED], Verdict.FAILED),
        ([CheckOutcome.FAILED, CheckOutcome.INCONCLUSIVE], Verdict.FAILED),
        ([CheckOutcome.PASSED, CheckOutcome.INCONCLUSIVE], Verdict.INCONCLUSIVE),
        ([CheckOutcome.PASSED, CheckOutcome.ERROR], Verdict.INCONCLUSIVE),
        ([CheckOutcome.SKIPPED], Verdict.INCONCLUSIVE),
        ([], Verdict.INCONCLUSIVE),
    ],
)
def test_verdict_from_gating_outcomes(outcomes: list[CheckOutcome], expected: Verdict) -> None:
    checks = [check(o, name=f"c{i}") for i, o in enumerate(outcomes)]
    assert judge(checks).verdict is expected


def test_advisory_failures_never_change_the_verdict() -> None:
    judgement = judge([check(CheckOutcome.PASSED), check(CheckOutcome.FAILED, gating=False, name="adv")])
    assert judgement.verdict is Verdict.PASSED


def test_failed_reason_names_the_checks() -> None:
    judgement = judge([check(CheckOutcome.FAILED, name="error_rate"), check(CheckOutcome.PASSED, name="ok")])
    assert "checks/test_x.py::error_rate" in judgement.reason
    assert "::ok" not in judgement.reason
    assert [c.id for c in judgement.deciding_checks] == ["checks/test_x.py::error_rate"]


def test_blocking_problem_makes_any_result_inconclusive() -> None:
    judgement = judge([check(CheckOutcome.FAILED)], blocking_problem="not the release CI deployed")
    assert judgement.verdict is Verdict.INCONCLUSIVE
    assert judgement.reason == "not the release CI deployed"


def settings(**overrides: object) -> Settings:
    return dataclasses.replace(Settings(target=TARGET), **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("verdict", "policy", "step", "action"),
    [
        (Verdict.PASSED, {}, Step.NOTHING, RollbackAction.NOT_NEEDED),
        (Verdict.FAILED, {}, Step.ROLL_BACK, RollbackAction.ROLLED_BACK),
        (Verdict.FAILED, {"dry_run": True}, Step.DRY_RUN, RollbackAction.DRY_RUN),
        (Verdict.FAILED, {"dry_run": True, "rollback": False}, Step.DRY_RUN, RollbackAction.DRY_RUN),
        (Verdict.FAILED, {"rollback": False}, Step.NOTHING, RollbackAction.DISABLED),
        (Verdict.FAILED, {"target": None}, Step.NOTHING, RollbackAction.DISABLED),
        (Verdict.INCONCLUSIVE, {}, Step.NOTHING, RollbackAction.NOT_NEEDED),
        (Verdict.INCONCLUSIVE, {"on_inconclusive": OnInconclusive.PASS}, Step.NOTHING, RollbackAction.NOT_NEEDED),
        (
            Verdict.INCONCLUSIVE,
            {"on_inconclusive": OnInconclusive.ROLLBACK},
            Step.ROLL_BACK,
            RollbackAction.ROLLED_BACK,
        ),
    ],
)
def test_decision_table(verdict: Verdict, policy: dict[str, object], step: Step, action: RollbackAction) -> None:
    decision = decide(verdict, "why", settings(**policy))
    assert (decision.step, decision.action) == (step, action)


def test_inconclusive_never_rolls_back_by_default_and_says_so() -> None:
    decision = decide(Verdict.INCONCLUSIVE, "Prometheus unreachable", settings())
    assert decision.step is Step.NOTHING
    assert "never rolls back" in decision.reason
    assert "Prometheus unreachable" in decision.reason


def test_interrupted_or_broken_runs_never_roll_back() -> None:
    decision = decide(Verdict.FAILED, "why", settings(), not_a_verdict="pytest ended with INTERRUPTED")
    assert decision.step is Step.NOTHING
    assert decision.reason == "pytest ended with INTERRUPTED; never roll back"
    assert not decision.treat_as_failed


@pytest.mark.parametrize(
    ("verdict", "policy", "rollback", "expected"),
    [
        (Verdict.PASSED, {}, RollbackRecord(action=RollbackAction.NOT_NEEDED, reason=""), ExitCode.PASSED),
        (
            Verdict.FAILED,
            {},
            RollbackRecord(action=RollbackAction.ROLLED_BACK, reason="", recovered=True),
            ExitCode.FAILED,
        ),
        (
            Verdict.FAILED,
            {},
            RollbackRecord(action=RollbackAction.ROLLED_BACK, reason="", recovered=False),
            ExitCode.ROLLBACK_FAILED,
        ),
        (
            Verdict.FAILED,
            {},
            RollbackRecord(action=RollbackAction.ROLLED_BACK, reason="", error="watch dropped"),
            ExitCode.ROLLBACK_FAILED,
        ),
        (Verdict.FAILED, {}, RollbackRecord(action=RollbackAction.FAILED, reason=""), ExitCode.ROLLBACK_FAILED),
        (Verdict.FAILED, {}, RollbackRecord(action=RollbackAction.SKIPPED, reason=""), ExitCode.FAILED),
        (Verdict.FAILED, {"dry_run": True}, RollbackRecord(action=RollbackAction.DRY_RUN, reason=""), ExitCode.FAILED),
        (
            Verdict.FAILED,
            {"rollback": False},
            RollbackRecord(action=RollbackAction.DISABLED, reason=""),
            ExitCode.FAILED,
        ),
        (Verdict.INCONCLUSIVE, {}, RollbackRecord(action=RollbackAction.NOT_NEEDED, reason=""), ExitCode.INCONCLUSIVE),
        (
            Verdict.INCONCLUSIVE,
            {"on_inconclusive": OnInconclusive.PASS},
            RollbackRecord(action=RollbackAction.NOT_NEEDED, reason=""),
            ExitCode.PASSED,
        ),
        (
            Verdict.INCONCLUSIVE,
            {"on_inconclusive": OnInconclusive.ROLLBACK},
            RollbackRecord(action=RollbackAction.ROLLED_BACK, reason="", recovered=True),
            ExitCode.FAILED,
        ),
    ],
)
def test_exit_codes(verdict: Verdict, policy: dict[str, object], rollback: RollbackRecord, expected: ExitCode) -> None:
    chosen = settings(**policy)
    decision = decide(verdict, "why", chosen)
    assert exit_code(verdict, decision, rollback, chosen.on_inconclusive) is expected
