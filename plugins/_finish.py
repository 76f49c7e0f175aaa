"""The end of a run, on the controller: verdict → decide → act → record → report sinks, report.json → notify.

Whatever breaks here (a custom hook, a sink, the report directory, even an interruption during the rollback)
becomes part of the record: the record is always written.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rollcheck import ExitCode
from rollcheck.act import INTERRUPTED_ERROR
from rollcheck.act import BeforeApply
from rollcheck.act import Interruptible
from rollcheck.act import carry_out
from rollcheck.act import check_recovery
from rollcheck.decide import Decision
from rollcheck.decide import Judgement
from rollcheck.decide import Step
from rollcheck.decide import decide
from rollcheck.decide import enforce_rollback_safety
from rollcheck.decide import exit_code
from rollcheck.decide import judge
from rollcheck.notify import notify
from rollcheck.record import CheckResult
from rollcheck.record import PreflightRecord
from rollcheck.record import ReleaseSummary
from rollcheck.record import RollbackAction
from rollcheck.record import RollbackRecord
from rollcheck.record import RunRecord
from rollcheck.record import Timings
from rollcheck.record import Verdict
from rollcheck.record._context import ci_context
from rollcheck.record._json import write_report_safely
from rollcheck.record._logline import write_log_line
from rollcheck.settings import Settings
from rollcheck.target import Release

from ._preflight import PREFLIGHT_KEY
from ._release_reading import image_mismatch
from ._report_sinks import call_report_sinks
from ._state import CONNECTION_KEY
from ._state import RELEASE_KEY
from ._watch import WATCH_KEY
from ._watch import checks_with_analysis

if TYPE_CHECKING:
    from rollcheck.kube import Kube

__all__ = [
    "NOT_A_VERDICT",
    "ROLLBACK_CALLBACKS_KEY",
    "RollbackCallbacks",
    "builtin_decide",
    "builtin_rollback",
    "finish_run",
]

# pytest's own statuses that say nothing about the release: they never roll back and are kept as they are.
NOT_A_VERDICT = {
    pytest.ExitCode.INTERRUPTED,
    pytest.ExitCode.INTERNAL_ERROR,
    pytest.ExitCode.USAGE_ERROR,
    pytest.ExitCode.NO_TESTS_COLLECTED,
}


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def builtin_decide(judgement: Judgement, settings: Settings) -> Decision:
    return decide(judgement.verdict, judgement.reason, settings)


@dataclasses.dataclass(frozen=True)
class RollbackCallbacks:
    """What the built-in rollback hook passes to carry_out, for the run being finished."""

    before_apply: BeforeApply | None = None
    """Writes the preliminary report.json right before the rollback request is sent."""
    interruptible: Interruptible | None = None
    """Lets a SIGTERM stop the wait for the restored rollout (see RollcheckSession)."""
    kube: Kube | None = None
    """The run's connection, still open and warm since the release was read; None to connect anew."""


# Set while the rollback hook runs: the hook's signature is public and fixed, so the run's callbacks reach the
# built-in implementation through the config's stash.
ROLLBACK_CALLBACKS_KEY = pytest.StashKey[RollbackCallbacks]()


def builtin_rollback(
    decision: Decision, release: Release | None, settings: Settings, callbacks: RollbackCallbacks | None = None
) -> RollbackRecord:
    callbacks = callbacks or RollbackCallbacks()
    return carry_out(
        decision,
        release,
        settings,
        recovery_check=check_recovery,
        before_apply=callbacks.before_apply,
        interruptible=callbacks.interruptible,
        kube=callbacks.kube,
    )


@dataclasses.dataclass
class _Run:
    config: pytest.Config
    settings: Settings
    interruptible: Interruptible | None = None
    errors: list[str] = dataclasses.field(default_factory=list)
    interrupted: bool = False
    """Ctrl-C or SIGTERM arrived while the rollback ran."""

    def verified(self) -> tuple[Release | None, str | None]:
        """The release that was judged, and a problem that makes every check untrustworthy, if any."""
        found = self.config.stash.get(RELEASE_KEY, None)
        if isinstance(found, Exception):
            return None, f"the release under test could not be read: {found}"
        if found is None:
            return None, None
        return found, image_mismatch(self.settings, found)

    def decision(self, judgement: Judgement, not_a_verdict: str | None, verified: Release | None) -> Decision:
        if not_a_verdict is not None:
            return decide(judgement.verdict, judgement.reason, self.settings, not_a_verdict=not_a_verdict)
        # Whoever decides (a custom hook included), a release that declares rollback unsafe is frozen.
        return enforce_rollback_safety(self._hook_decision(judgement), verified.rollback_unsafe if verified else None)

    def _hook_decision(self, judgement: Judgement) -> Decision:
        try:
            decision: Decision = self.config.hook.pytest_rollcheck_decide(judgement=judgement, settings=self.settings)
        except Exception as error:  # a custom decide hook broke: the built-in policy decides, and it is recorded
            self.errors.append(f"pytest_rollcheck_decide raised {error!r}; the built-in policy decided"[:500])
            decision = builtin_decide(judgement, self.settings)
        return decision

    def act(
        self, decision: Decision, verified: Release | None, before_apply: BeforeApply | None = None
    ) -> RollbackRecord:
        if decision.step is Step.NOTHING:
            return RollbackRecord(action=decision.action, reason=decision.reason)
        connection = self.config.stash.get(CONNECTION_KEY, None)
        self.config.stash[ROLLBACK_CALLBACKS_KEY] = RollbackCallbacks(
            before_apply=before_apply,
            interruptible=self.interruptible,
            kube=connection.kube if connection is not None else None,
        )
        try:
            # object, not RollbackRecord: a custom hook may return anything, and that is checked below.
            record: object = self.config.hook.pytest_rollcheck_rollback(
                decision=decision, release=verified, settings=self.settings
            )
        except KeyboardInterrupt:
            # Ctrl-C or SIGTERM while rolling back: what the cluster did is not known, and the report says so.
            self.interrupted = True
            return RollbackRecord(
                action=RollbackAction.FAILED,
                reason=decision.reason,
                error="interrupted during the rollback: its outcome is unknown; check the workload's revision",
            )
        except Exception as error:  # a custom rollback hook broke: the report must still be written
            record = RollbackRecord(
                action=RollbackAction.FAILED, reason=decision.reason, error=f"rollback hook raised {error!r}"[:500]
            )
        finally:
            del self.config.stash[ROLLBACK_CALLBACKS_KEY]
        if not isinstance(record, RollbackRecord):
            return RollbackRecord(
                action=RollbackAction.FAILED,
                reason=decision.reason,
                error=f"the rollback hook returned {type(record).__name__}, not a RollbackRecord: outcome unknown",
            )
        if record.error == INTERRUPTED_ERROR:
            self.interrupted = True  # the built-in rollback stopped waiting for a SIGTERM or Ctrl-C
        return record


def finish_run(
    config: pytest.Config,
    settings: Settings,
    checks: Sequence[CheckResult],
    *,
    status: pytest.ExitCode | None,
    collection_errors: Sequence[str],
    started_at: datetime.datetime,
    interruptible: Interruptible | None = None,
) -> tuple[RunRecord, Path | None]:
    """Judge, decide, act and record; write the log line and report.json. Never raises for what it records.

    Before a rollback request is sent, a preliminary report.json says so (overwritten by the final one), so a
    job killed while rolling back still leaves a record. `interruptible` is entered around the wait for the
    restored rollout; raising KeyboardInterrupt inside it (on SIGTERM) ends the wait with an unknown outcome.
    The path is None when report.json could be written nowhere (the record is then printed on stderr)."""
    run = _Run(config, settings, interruptible=interruptible)
    try:
        record = _record(run, checks, status=status, collection_errors=collection_errors, started_at=started_at)
    except Exception as error:  # a bug of ours: still a report, with the internal-error exit code
        record = RunRecord(
            verdict=Verdict.INCONCLUSIVE,
            target=str(settings.target) if settings.target else None,
            namespace=settings.namespace,
            release=ReleaseSummary(),
            checks=tuple(checks),
            rollback=RollbackRecord(action=RollbackAction.NOT_NEEDED, reason="rollcheck failed before deciding"),
            timings=Timings(started_at=started_at, finished_at=_now()),
            context=ci_context(os.environ),
            exit_code=int(ExitCode.INTERNAL_ERROR),
            reason=f"rollcheck failed while finishing the run: {error!r}"[:500],
        )
    record = dataclasses.replace(record, errors=(*record.errors, *run.errors))
    # The log line first: it goes to stderr, so no unwritable directory can cost it.
    write_log_line(record, sys.stderr)
    # Written before the sinks run, so a slow or hanging sink cannot cost the report; again if a sink failed.
    # write_report_safely never raises OSError: the sinks and notifications below run whatever happened to it.
    path = write_report_safely(record, settings.report_dir, say=sys.stderr)
    sink_errors = call_report_sinks(config, record)
    # Last, after the rollback and the first report.json: a slow or broken receiver delays neither, and what
    # the receivers made of it is written into the report again.
    notified = notify(record, settings)
    if sink_errors or notified.notifications:
        record = dataclasses.replace(notified, errors=(*record.errors, *sink_errors))
        path = write_report_safely(record, settings.report_dir, say=sys.stderr) or path
    return record, path


def _record(
    run: _Run,
    checks: Sequence[CheckResult],
    *,
    status: pytest.ExitCode | None,
    collection_errors: Sequence[str],
    started_at: datetime.datetime,
) -> RunRecord:
    verified, problem = run.verified()
    watched = run.config.stash.get(WATCH_KEY, None)
    checks = checks_with_analysis(checks, watched)
    judgement = judge(checks, blocking_problem=problem)
    verdict_at = _now()
    no_verdict = _no_verdict(run.config, status, collection_errors, problem)
    decision = run.decision(judgement, no_verdict[0] if no_verdict else None, verified)

    def record_of(rollback: RollbackRecord, code: ExitCode, finished_at: datetime.datetime | None) -> RunRecord:
        return RunRecord(
            verdict=judgement.verdict,
            target=str(run.settings.target) if run.settings.target else None,
            namespace=run.settings.namespace,
            release=ReleaseSummary(revision=verified.revision, images=verified.images, version=verified.version)
            if verified
            else ReleaseSummary(),
            checks=tuple(checks),
            rollback=rollback,
            timings=Timings(
                started_at=started_at,
                verdict_at=verdict_at,
                rollback_issued_at=rollback.issued_at,
                rollback_completed_at=rollback.finished_at if rollback.issued_at else None,
                finished_at=finished_at,
            ),
            context=ci_context(os.environ),
            exit_code=int(code),
            reason=no_verdict[0] if no_verdict else judgement.reason,
            preflight=run.config.stash.get(PREFLIGHT_KEY, PreflightRecord()),
            analysis=watched.record if watched else None,
        )

    def write_pending(pending: RollbackRecord) -> None:
        # If the job is killed before the final write, this is its record: a rollback that may have been sent,
        # with an unknown outcome (exit 6), and no finished_at yet.
        preliminary = record_of(pending, ExitCode.ROLLBACK_FAILED, None)
        write_report_safely(
            dataclasses.replace(preliminary, errors=tuple(run.errors)), run.settings.report_dir, say=sys.stderr
        )

    rollback = run.act(decision, verified, before_apply=write_pending)
    code = (
        no_verdict[1] if no_verdict else exit_code(judgement.verdict, decision, rollback, run.settings.on_inconclusive)
    )
    if run.interrupted:
        code = ExitCode.ROLLBACK_FAILED  # a PATCH may have been sent: not "interrupted, nothing touched"
    return record_of(rollback, code, _now())


def _no_verdict(
    config: pytest.Config,
    status: pytest.ExitCode | None,
    collection_errors: Sequence[str],
    problem: str | None,
) -> tuple[str, ExitCode] | None:
    """Why this run says nothing trustworthy about the release, and its exit code; None when it does. Such a
    run never rolls back, whatever --on-inconclusive says. The first reason that applies wins."""
    bad_kubeconfig = _kubeconfig_problem(config)
    if bad_kubeconfig is not None:
        return bad_kubeconfig, ExitCode.USAGE_ERROR
    if status in NOT_A_VERDICT:
        reason = f"pytest ended with {status.name if status is not None else 'an unknown status'}"
        reason += f" ({problem})" if problem else ""
        code = ExitCode.NO_CHECKS if status is pytest.ExitCode.NO_TESTS_COLLECTED else ExitCode(int(status))
        return reason, code
    if collection_errors:
        shown = ", ".join(collection_errors[:3])
        # INTERRUPTED is what pytest itself says of collection errors.
        return f"{len(collection_errors)} check file(s) failed to load ({shown})", ExitCode.INTERRUPTED
    preflight = config.stash.get(PREFLIGHT_KEY, None)
    if preflight is not None and preflight.blocking:
        found = "; ".join(problem.message for problem in preflight.problems)
        return f"not rollback-ready, so no check ran (--require-rollback-ready): {found}", ExitCode.USAGE_ERROR
    if problem is not None:
        # Not the release CI deployed, or not readable: nothing to judge and nothing safe to roll back.
        return problem, ExitCode.INCONCLUSIVE
    return None


def _kubeconfig_problem(config: pytest.Config) -> str | None:
    """A kubeconfig or context that cannot be loaded is the user's mistake (exit 4), not a cluster problem."""
    found = config.stash.get(RELEASE_KEY, None)
    if not isinstance(found, Exception):
        return None
    from rollcheck.kube import KubeconfigError  # only now: a run without a target never loads the client

    return str(found) if isinstance(found, KubeconfigError) else None
