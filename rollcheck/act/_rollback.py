"""act: carry out a rollback decision with the target kind's engine, wait for the restored rollout, and check
that health recovered. Returns what happened as data; every failure becomes a record, never an exception."""

from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Callable

from .._errors import RollcheckError
from ..decide import Decision
from ..decide import Step
from ..record import RollbackAction
from ..record import RollbackRecord
from ..settings import Settings
from ..target import Release

__all__ = ["RecoveryCheck", "carry_out"]

logger = logging.getLogger("rollcheck.act")

RecoveryCheck = Callable[[Settings], tuple[bool, str]]
"""Re-checks health against the restored revision: (recovered, what was seen)."""


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def carry_out(
    decision: Decision,
    verified: Release | None,
    settings: Settings,
    *,
    recovery_check: RecoveryCheck,
) -> RollbackRecord:
    """Roll back (or dry-run) as decided. `verified` is the release that was judged: the engine refuses to
    overwrite anything deployed after it."""
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
    from ..kube import connect
    from ..rollback import engine_for

    try:
        with connect(kubeconfig=settings.kubeconfig, context=settings.context) as kube:
            helm = Helm(binary=settings.helm, kubeconfig=settings.kubeconfig, context=settings.context)
            engine = engine_for(settings.target.kind, kube, helm=helm, timeout=settings.rollout_timeout)
            plan = engine.plan(settings.target, settings.namespace, verified, reason=decision.reason)
            record = dataclasses.replace(record, to_revision=plan.to_revision, to_version=plan.to_version)
            dry_run = decision.step is Step.DRY_RUN
            # apply passes on the plan's own skip (already at that revision, deployed since verified) and adds
            # a deploy that lands between the plan and the patch: their release is not ours to undo.
            applied = engine.apply(plan, dry_run=dry_run)
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
    except RollcheckError as error:
        # The action stays what it had reached: FAILED before the patch was accepted, ROLLED_BACK (with the
        # error) if waiting or re-checking failed afterwards: the report must not claim the cluster untouched.
        return dataclasses.replace(record, finished_at=_now(), error=str(error))
