"""Rollback safety: a release that declares rolling back unsafe is frozen on a failed verdict, never rolled back."""

from __future__ import annotations

import dataclasses

import pytest

from rollcheck import ExitCode
from rollcheck.decide import Decision
from rollcheck.decide import Step
from rollcheck.decide import decide
from rollcheck.decide import enforce_rollback_safety
from rollcheck.decide import exit_code
from rollcheck.record import RollbackAction
from rollcheck.record import RollbackRecord
from rollcheck.record import Verdict
from rollcheck.settings import OnInconclusive
from rollcheck.settings import Settings
from rollcheck.target import TargetRef
from rollcheck.target._release import rollback_unsafe_reason

TARGET = TargetRef.parse("deployment/shop")
UNSAFE = "deployment/shop in prod declares rolling back unsafe (schema migration 42)"


def settings(**overrides: object) -> Settings:
    return dataclasses.replace(Settings(target=TARGET), **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "policy",
    [{}, {"dry_run": True}, {"rollback": False}, {"on_inconclusive": OnInconclusive.ROLLBACK}],
)
def test_failed_verdict_on_an_unsafe_release_freezes(policy: dict[str, object]) -> None:
    verdict = Verdict.INCONCLUSIVE if policy.get("on_inconclusive") else Verdict.FAILED
    decision = decide(verdict, "1 gating check(s) failed: x", settings(**policy), rollback_unsafe=UNSAFE)
    assert (decision.step, decision.action, decision.treat_as_failed) == (Step.NOTHING, RollbackAction.FROZEN, True)
    assert decision.reason.startswith("1 gating check(s) failed: x")
    assert decision.reason.endswith(f"frozen, not rolled back: {UNSAFE}")
    record = RollbackRecord(action=decision.action, reason=decision.reason)
    assert exit_code(verdict, decision, record, OnInconclusive.FAIL) is ExitCode.FAILED


@pytest.mark.parametrize(
    ("verdict", "not_a_verdict", "action"),
    [
        (Verdict.PASSED, None, RollbackAction.NOT_NEEDED),
        (Verdict.INCONCLUSIVE, None, RollbackAction.NOT_NEEDED),
        (Verdict.FAILED, "pytest ended with INTERRUPTED", RollbackAction.NOT_NEEDED),
    ],
)
def test_runs_that_would_not_roll_back_are_not_frozen(
    verdict: Verdict, not_a_verdict: str | None, action: RollbackAction
) -> None:
    decision = decide(verdict, "r", settings(), not_a_verdict=not_a_verdict, rollback_unsafe=UNSAFE)
    assert decision.action is action


def test_a_custom_decision_to_roll_back_is_frozen_too() -> None:
    custom = Decision(Step.ROLL_BACK, RollbackAction.ROLLED_BACK, "my policy says so", True)
    frozen = enforce_rollback_safety(custom, UNSAFE)
    assert (frozen.step, frozen.action) == (Step.NOTHING, RollbackAction.FROZEN)
    assert frozen.reason.startswith("my policy says so; frozen")
    assert enforce_rollback_safety(custom, None) is custom


@pytest.mark.parametrize("step", [Step.ROLL_BACK, Step.DRY_RUN])
@pytest.mark.parametrize("treat_as_failed", [True, False])
def test_a_custom_decision_that_would_act_is_frozen_whatever_treat_as_failed_says(
    step: Step, treat_as_failed: bool
) -> None:
    # A hook may roll back a release it does not call failed (treat_as_failed=False); the freeze still holds.
    custom = Decision(step, RollbackAction.ROLLED_BACK, "my policy rolls back on Fridays", treat_as_failed)
    frozen = enforce_rollback_safety(custom, UNSAFE)
    assert (frozen.step, frozen.action, frozen.treat_as_failed) == (Step.NOTHING, RollbackAction.FROZEN, True)
    assert frozen.reason == f"my policy rolls back on Fridays; frozen, not rolled back: {UNSAFE}"
    record = RollbackRecord(action=frozen.action, reason=frozen.reason)
    assert exit_code(Verdict.PASSED, frozen, record, OnInconclusive.FAIL) is ExitCode.FAILED


@pytest.mark.parametrize(
    "custom",
    [
        Decision(Step.NOTHING, RollbackAction.NOT_NEEDED, "all good", False),
        Decision(Step.NOTHING, RollbackAction.NOT_NEEDED, "bad, but my policy leaves it", True),
        Decision(Step.NOTHING, RollbackAction.DISABLED, "rollback off and nothing failed", False),
    ],
)
def test_a_custom_decision_to_do_nothing_is_left_alone(custom: Decision) -> None:
    assert enforce_rollback_safety(custom, UNSAFE) is custom


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        ({}, None),
        ({"rollcheck.dev/rollback": "safe"}, None),
        ({"rollcheck.dev/rollback-unsafe-reason": "ignored without the switch"}, None),
        (
            {
                "rollcheck.dev/rollback": "unsafe",
                "rollcheck.dev/rollback-unsafe-reason": "migration 42 dropped a column",
            },
            "deployment/shop in prod declares rolling back unsafe (rollcheck.dev/rollback=unsafe; "
            "rollcheck.dev/rollback-unsafe-reason: migration 42 dropped a column)",
        ),
        (
            {"rollcheck.dev/rollback": "UNSAFE"},
            "deployment/shop in prod declares rolling back unsafe (rollcheck.dev/rollback=unsafe; "
            "rollcheck.dev/rollback-unsafe-reason: no reason given)",
        ),
    ],
)
def test_the_annotation(annotations: dict[str, str], expected: str | None) -> None:
    assert rollback_unsafe_reason(annotations, "deployment/shop in prod") == expected


def test_an_unknown_annotation_value_is_unsafe_and_named() -> None:
    reason = rollback_unsafe_reason({"rollcheck.dev/rollback": "maybe"}, "deployment/shop in prod")
    assert reason is not None
    assert "'maybe'" in reason
    assert "deployment/shop in prod" in reason
    assert "treated as unsafe" in reason
