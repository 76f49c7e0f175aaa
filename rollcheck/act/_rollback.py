"""act: carry out a rollback decision with the target kind's engine, wait for the restored rollout, and check
that health recovered. Returns what happened as data; every failure becomes a record, never an exception."""

from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from contextlib import nullcontext
from typing import TYPE_CHECKING

from .._errors import NotFound
from .._errors import RollcheckError
from ..decide import Decision
from ..decide import Step
from ..record import RollbackAction
from ..record import RollbackRecord
from ..settings import Settings
from ..target import Release

if TYPE_CHECKING:
    from ..kube import Kube
    from ..rollback import RollbackEngine
    from ..rollback import RollbackPlan

__all__ = ["INTERRUPTED_ERROR", "PENDING_ERROR", "BeforeApply", "Interruptible", "RecoveryCheck", "carry_out"]

logger = logging.getLogger("rollcheck.act")

RecoveryCheck = Callable[[Settings], tuple[bool, str]]
"""Re-checks health against the restored revision: (recovered, what was seen)."""

BeforeApply = Callable[[RollbackRecord], None]
"""Called with the record so far (PENDING_ERROR as its error) right before the rollback request is sent."""

Interruptible = Callable[[], AbstractContextManager[object]]
"""Entered around the wait for the restored rollout and the recovery check: the caller may raise
KeyboardInterrupt inside it (on SIGTERM, say) to stop waiting."""

PENDING_ERROR = (
    "outcome pending: the rollback request is being sent; if this is the final report, rollcheck was stopped "
    "before it knew whether the request was accepted: check the workload's revision"
)
"""The error of a rollback that is about to be sent: what a report written at that moment says."""

INTERRUPTED_ERROR = (
    "interrupted while waiting for the restored rollout: the rollback was issued, but whether it completed and "
    "health recovered is unknown; check the workload's revision and rollout"
)
"""The error of a rollback that was issued, after which the wait was interrupted (Ctrl-C, SIGTERM)."""


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def carry_out(
    decision: Decision,
    verified: Release | None,
    settings: Settings,
    *,
    recovery_check: RecoveryCheck,
    before_apply: BeforeApply | None = None,
    interruptible: Interruptible | None = None,
    kube: Kube | None = None,
) -> RollbackRecord:
    """Roll back (or dry-run) as decided. `verified` is the release that was judged: the engine refuses to
    overwrite anything deployed after it. `kube` is a connection the caller already has open (the session's,
    warm): it is used and left open; without one, carry_out connects for itself and closes when done.

    `before_apply` is called with the record so far (action rolled_back, error PENDING_ERROR, not yet issued)
    right before a real rollback request is sent, so the caller can write it down first; what it raises is
    logged and does not stop the rollback. A KeyboardInterrupt (Ctrl-C, or SIGTERM raised by `interruptible`)
    during the wait for the restored rollout or the recovery check ends the wait: the record then says the
    rollback was issued and that its completion is unknown (INTERRUPTED_ERROR), with `recovered` None."""
    assert decision.step in (Step.ROLL_BACK, Step.DRY_RUN), decision
    assert settings.target is not None
    record = RollbackRecord(action=RollbackAction.FAILED, reason=decision.reason, started_at=_now())
    if verified is None:
        return dataclasses.replace(
            record,
            finished_at=_now(),
            error="the release under test could not be read, so there is no verified revision to roll back from",
        )
    record = dataclasses.replace(record, from_revision=verified.revision, from_version=verified.version)
    # Imported here: a run that never rolls back does not pay for the Kubernetes client.
    from ..helm import Helm
    from ..rollback import engine_for

    try:
        with _connection(settings, kube) as connection:
            helm = Helm(binary=settings.helm, kubeconfig=settings.kubeconfig, context=settings.context)
            engine = engine_for(settings.target.kind, connection, helm=helm, timeout=settings.rollout_timeout)
            plan = engine.plan(settings.target, settings.namespace, verified, reason=decision.reason)
            record = dataclasses.replace(record, to_revision=plan.to_revision, to_version=plan.to_version)
            dry_run = decision.step is Step.DRY_RUN
            if before_apply is not None and not dry_run:
                _call_before_apply(
                    before_apply, dataclasses.replace(record, action=RollbackAction.ROLLED_BACK, error=PENDING_ERROR)
                )
            # apply passes on the plan's own skip (already at that revision, deployed since verified) and adds
            # a deploy that lands between the plan and the patch: their release is not ours to undo.
            applied = engine.apply(plan, dry_run=dry_run)
            if applied.frozen_reason is not None:
                # Declared unsafe after the release was read (a migration ran during the checks): a freeze,
                # reported as one, not an ordinary skip.
                return dataclasses.replace(
                    record,
                    action=RollbackAction.FROZEN,
                    reason=f"{decision.reason}; frozen, not rolled back: {applied.frozen_reason}",
                    finished_at=_now(),
                )
            if applied.skip_reason is not None:
                return dataclasses.replace(
                    record,
                    action=RollbackAction.SKIPPED,
                    reason=f"{decision.reason}; skipped: {applied.skip_reason}",
                    finished_at=_now(),
                )
            if dry_run:
                return dataclasses.replace(record, action=RollbackAction.DRY_RUN, finished_at=_now())
            record = dataclasses.replace(record, action=RollbackAction.ROLLED_BACK, issued_at=applied.issued_at)
            logger.info("rollback of %s accepted at %s", settings.target, applied.issued_at.isoformat())
            try:
                with interruptible() if interruptible is not None else nullcontext():
                    return _wait_and_recheck(engine, plan, record, settings, recovery_check)
            except KeyboardInterrupt as interruption:
                logger.warning("rollback of %s issued; waiting for it interrupted (%s)", settings.target, interruption)
                return dataclasses.replace(record, finished_at=_now(), recovered=None, error=INTERRUPTED_ERROR)
    except NotFound as error:
        if record.issued_at is not None:  # gone while the restored rollout was awaited: the patch had landed
            return dataclasses.replace(record, finished_at=_now(), error=str(error))
        return dataclasses.replace(
            record,
            finished_at=_now(),
            error=f"{settings.target} no longer exists in namespace {settings.namespace} (deleted during the run?), "
            f"so there is nothing to roll back: {error}",
        )
    except RollcheckError as error:
        # The action stays what it had reached: FAILED before the patch was accepted, ROLLED_BACK (with the
        # error) if waiting or re-checking failed afterwards: the report must not claim the cluster untouched.
        return dataclasses.replace(record, finished_at=_now(), error=str(error))


def _connection(settings: Settings, kube: Kube | None) -> AbstractContextManager[Kube]:
    """The caller's open connection, left open on exit; else a new one (KubeconfigError if it cannot be made),
    closed on exit."""
    if kube is not None:
        return nullcontext(kube)
    from ..kube import connect

    return connect(kubeconfig=settings.kubeconfig, context=settings.context)


def _call_before_apply(before_apply: BeforeApply, pending: RollbackRecord) -> None:
    try:
        before_apply(pending)
    except Exception:  # the caller's bookkeeping must never stop the rollback it is about
        logger.exception("before_apply failed; the rollback goes on")


def _wait_and_recheck(
    engine: RollbackEngine,
    plan: RollbackPlan,
    record: RollbackRecord,
    settings: Settings,
    recovery_check: RecoveryCheck,
) -> RollbackRecord:
    status = engine.wait(plan, timeout=settings.rollout_timeout)
    if not status.done:
        return dataclasses.replace(
            record,
            finished_at=_now(),
            recovered=False,
            error=f"the restored rollout did not complete: {status.message}",
        )
    recovered, seen = recovery_check(settings)
    return dataclasses.replace(
        record,
        finished_at=_now(),
        recovered=recovered,
        error=None if recovered else f"health did not recover after the rollback: {seen}",
    )
