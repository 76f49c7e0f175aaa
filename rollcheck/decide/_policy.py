"""decide: a pure function from the verdict and the policy to what should happen. Every rule is here.

Nothing in this module talks to a cluster, so every rule is unit-tested without one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..record._model import RollbackAction
from ..record._model import Verdict
from ..settings._model import OnInconclusive
from ..settings._model import Settings

__all__ = ["Decision", "Step", "decide", "enforce_rollback_safety"]


class Step(enum.StrEnum):
    ROLL_BACK = "roll_back"
    """Roll the target back to its previous revision."""
    DRY_RUN = "dry_run"
    """Plan the rollback and record it, without changing the cluster."""
    NOTHING = "nothing"
    """Leave the target alone; `action` says why."""


@dataclass(frozen=True)
class Decision:
    step: Step
    action: RollbackAction
    """The report's rollback action when nothing is done (not_needed, disabled); for ROLL_BACK and DRY_RUN it
    is the intended action, replaced by what actually happened."""
    reason: str
    """The rule that fired, in words."""
    treat_as_failed: bool
    """Whether the run fails as a bad release (an inconclusive verdict under on-inconclusive=rollback)."""


def decide(
    verdict: Verdict,
    reason: str,
    settings: Settings,
    *,
    not_a_verdict: str | None = None,
    rollback_unsafe: str | None = None,
) -> Decision:
    """What to do about this verdict.

    `not_a_verdict` says why the run says nothing about the release (interrupted, checks failed to load, a
    usage or internal error, no checks): such a run never rolls back, whatever its checks did.
    `rollback_unsafe` is why the release declares rolling back unsafe (see `enforce_rollback_safety`).
    """
    return enforce_rollback_safety(_decide(verdict, reason, settings, not_a_verdict), rollback_unsafe)


def enforce_rollback_safety(decision: Decision, rollback_unsafe: str | None) -> Decision:
    """A release that declares rolling back unsafe (`rollcheck.dev/rollback: unsafe`, after an irreversible
    migration, say) is never rolled back, whoever decided: a decision that would act (roll back, or plan a
    rollback under a dry run) becomes FROZEN whatever its treat_as_failed says, because a custom
    `pytest_rollcheck_decide` hook may roll back a release it does not call failed. A failed verdict with
    rollback off (DISABLED) is FROZEN too, so the report says why nothing may be done. A frozen run always
    fails (treat_as_failed): someone judged the release bad enough to roll back and it is still running, so the
    exit code and the notifications say so, and the reason says why nothing was done. Decisions to do nothing
    for any other reason (passed, not a verdict, not needed) are left alone; without a target no release was
    read, so nothing declares."""
    if rollback_unsafe is None:
        return decision
    if decision.step is Step.NOTHING and not (decision.treat_as_failed and decision.action is RollbackAction.DISABLED):
        return decision
    return Decision(
        Step.NOTHING,
        RollbackAction.FROZEN,
        f"{decision.reason}; frozen, not rolled back: {rollback_unsafe}",
        True,
    )


def _decide(verdict: Verdict, reason: str, settings: Settings, not_a_verdict: str | None) -> Decision:
    if not_a_verdict is not None:
        return Decision(Step.NOTHING, RollbackAction.NOT_NEEDED, f"{not_a_verdict}; never roll back", False)
    if verdict is Verdict.PASSED:
        return Decision(Step.NOTHING, RollbackAction.NOT_NEEDED, reason, False)
    if verdict is Verdict.INCONCLUSIVE:
        if settings.on_inconclusive is OnInconclusive.PASS:
            return Decision(Step.NOTHING, RollbackAction.NOT_NEEDED, f"{reason} (on-inconclusive=pass)", False)
        if settings.on_inconclusive is OnInconclusive.FAIL:
            return Decision(
                Step.NOTHING,
                RollbackAction.NOT_NEEDED,
                f"{reason}; an inconclusive verdict never rolls back (on-inconclusive=fail)",
                False,
            )
        reason = f"{reason} (on-inconclusive=rollback)"
    if settings.target is None:
        return Decision(Step.NOTHING, RollbackAction.DISABLED, f"{reason}; no target, so nothing to roll back", True)
    if settings.dry_run:
        return Decision(Step.DRY_RUN, RollbackAction.DRY_RUN, f"{reason}; dry run", True)
    if not settings.rollback:
        return Decision(Step.NOTHING, RollbackAction.DISABLED, f"{reason}; rollback disabled (--no-rollback)", True)
    return Decision(Step.ROLL_BACK, RollbackAction.ROLLED_BACK, reason, True)
