"""What one rollback event does, one at a time per workload, on its own worker thread.

An event runs the pipeline of `rollcheck run` from the decision on: read the release now running and its live
state, the guards (see _guards: not over a newer deploy or a rollout in progress, not back over rollcheck's own
rollback), the optional verification suite, decide, act. Then, with the workload's lock released (a slow
notification sink must not hold up the next check of it): report.json in a directory of its own, the JSON
log line, and the notifications. Which alerts start an event is decided in _admission.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from typing import TextIO

from .._errors import RollcheckError
from .._exitcodes import ExitCode
from ..act import carry_out
from ..act import check_recovery
from ..decide import Step
from ..decide import decide
from ..decide import exit_code
from ..record import CheckCategory
from ..record import CheckOutcome
from ..record import CheckResult
from ..record import ReleaseSummary
from ..record import RollbackAction
from ..record import RollbackRecord
from ..record import RunRecord
from ..record import Severity
from ..record import Timings
from ..record import Verdict
from ..record._context import ci_context
from ..record._json import write_report_safely
from ..record._logline import write_log_line
from ..settings import Settings
from ..target import Release
from ._admission import Admission
from ._admission import Admissions
from ._admission import Event
from ._alerts import Alert
from ._alerts import AlertTarget
from ._config import ServeConfig
from ._metrics import ServeMetrics
from ._suite import SuiteOutcome
from ._suite import SuiteResult
from ._suite import run_suite

if TYPE_CHECKING:
    from ._guards import LiveState

__all__ = ["EventDesk"]

#: How many finished events' records a long-running receiver keeps (the oldest go first); report.json has all.
KEPT_RECORDS = 1000
_SEVERITIES = {"critical": Severity.CRITICAL, "page": Severity.CRITICAL, "warning": Severity.WARNING}
_SEVERITIES |= {"info": Severity.INFO}
_VERDICTS = {
    SuiteOutcome.PASSED: Verdict.PASSED,
    SuiteOutcome.FAILED: Verdict.FAILED,
    SuiteOutcome.INCONCLUSIVE: Verdict.INCONCLUSIVE,
}


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class EventDesk:
    """Admits alerts and runs their events. Thread-safe; one instance per receiver."""

    def __init__(self, config: ServeConfig, metrics: ServeMetrics, log: TextIO) -> None:
        self.config = config
        self.metrics = metrics
        self.log = log
        self._lock = threading.Lock()
        self._admissions = Admissions(config, metrics)
        self._target_locks: dict[AlertTarget, threading.Lock] = {}
        self._threads: set[threading.Thread] = set()
        self.records: OrderedDict[str, RunRecord] = OrderedDict()
        """The last KEPT_RECORDS finished events' records, by event id, oldest first."""

    def admit(self, alerts: list[Alert]) -> Admission:
        with self._lock:
            admission, started = self._admissions.admit(alerts)
        for event in started:
            thread = threading.Thread(target=self._run, args=(event,), name=f"rollcheck-{event.id}", daemon=True)
            with self._lock:
                self._threads.add(thread)
            thread.start()
        return admission

    # -- one workload at a time ----------------------------------------------------------------------------

    @contextmanager
    def exclusive(self, where: AlertTarget, *, timeout: float | None) -> Iterator[bool]:
        """Hold the workload's lock (alert events and Flagger checks take turns); yields False if it was not
        free within `timeout` seconds (None: wait as long as it takes)."""
        with self._lock:
            lock = self._target_locks.setdefault(where, threading.Lock())
        acquired = lock.acquire(timeout=-1 if timeout is None else timeout)
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()

    def wait_idle(self, timeout: float) -> bool:
        """Wait for the running events to finish; False if some still run after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                threads = [thread for thread in self._threads if thread.is_alive()]
            if not threads:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            threads[0].join(min(remaining, 0.5))

    # -- one event -----------------------------------------------------------------------------------------

    def _run(self, event: Event) -> None:
        settings = dataclasses.replace(self.config.settings, target=event.where.target, namespace=event.where.namespace)
        record: RunRecord | None = None
        try:
            with self.exclusive(event.where, timeout=None):
                record, attempted = self._record(event, settings)
            self._finished(event, record, attempted)
            record = self._report(record, event, settings)
            with self._lock:
                self.records[event.id] = record
                while len(self.records) > KEPT_RECORDS:
                    self.records.popitem(last=False)
            self.metrics.count("rollcheck_serve_rollbacks_total", record.rollback.action.value)
            rollback = record.rollback
            if attempted and rollback.started_at and rollback.finished_at:
                self.metrics.observe_duration((rollback.finished_at - rollback.started_at).total_seconds())
        except Exception as error:  # a bug of ours after the record was made: say so, keep serving
            self.log.write(f"rollcheck serve: event {event.id} broke while reporting: {error!r}\n")
            self.log.flush()
        finally:
            with self._lock:
                if record is None:  # it never got as far as a record: nothing was sent, let it be retried
                    self._admissions.finished(event, cooldown=False, retry=True)
                self._threads.discard(threading.current_thread())

    def _finished(self, event: Event, record: RunRecord, attempted: bool) -> None:
        """Admission may go on for the workload. A failure before anything was sent to the cluster (the release
        could not be read, the API was unreachable, a bug of ours) starts no cooldown and forgets the alert, so
        Alertmanager's next delivery of it is judged again instead of being swallowed as a repeat."""
        rollback = record.rollback
        nothing_sent = rollback.action is RollbackAction.FAILED and rollback.issued_at is None
        with self._lock:
            self._admissions.finished(event, cooldown=attempted and not nothing_sent, retry=nothing_sent)

    def _record(self, event: Event, settings: Settings) -> tuple[RunRecord, bool]:
        """The event's record, and whether a rollback was attempted. Never raises: a bug of ours is recorded."""
        started_at = _now()
        alert_check = _alert_check(event.alert)
        try:
            return self._decide_and_act(event, settings, alert_check, started_at)
        except Exception as error:
            record = _run_record(
                settings,
                verdict=Verdict.FAILED,
                reason=f"rollcheck serve failed while handling {event.alert.name}: {error!r}"[:500],
                checks=(alert_check,),
                rollback=RollbackRecord(action=RollbackAction.FAILED, reason="rollcheck failed before acting"),
                started_at=started_at,
                code=ExitCode.INTERNAL_ERROR,
            )
            return record, False

    def _decide_and_act(
        self, event: Event, settings: Settings, alert_check: CheckResult, started_at: datetime.datetime
    ) -> tuple[RunRecord, bool]:
        alert = event.alert
        reason = f"alert {alert.name} is firing for {event.where.target} in namespace {event.where.namespace}"
        verified, live, problem = _read_release(settings)
        checks = [alert_check]
        skip = None
        if verified is not None and live is not None:
            from ._guards import reason_to_skip  # with the Kubernetes client: not at `rollcheck --version`

            skip = reason_to_skip(alert, verified, live, cooldown=self.config.cooldown, now=_now())
        # The alert is the failed check; a verification suite, when configured, has the last word on it.
        verdict = Verdict.FAILED
        if skip is None and verified is not None and self.config.verify_suite is not None:
            suite = self._verify(event, settings)
            checks.append(_suite_check(self.config.verify_suite, suite))
            verdict = _VERDICTS[suite.outcome]
            if suite.outcome is SuiteOutcome.PASSED:
                skip = f"the verification suite passed ({suite.reason}), so the alert is not acted on"
            elif suite.outcome is SuiteOutcome.INCONCLUSIVE:
                reason = f"{reason}; the verification suite was inconclusive ({suite.reason})"
        verdict_at = _now()
        # A release that declares rolling back unsafe is frozen here too, as under `rollcheck run`; an
        # inconclusive verification rolls back only under --on-inconclusive=rollback.
        unsafe = verified.rollback_unsafe if verified is not None else None
        decision = decide(verdict, reason, settings, rollback_unsafe=unsafe)
        attempted = False
        if skip is not None:
            rollback = RollbackRecord(
                action=RollbackAction.SKIPPED, reason=f"{reason}; skipped: {skip}", started_at=verdict_at
            )
            code = ExitCode.PASSED if verdict is Verdict.PASSED else ExitCode.FAILED
        elif decision.step is Step.NOTHING:
            rollback = RollbackRecord(action=decision.action, reason=decision.reason)
            code = exit_code(verdict, decision, rollback, settings.on_inconclusive)
        else:
            if problem is not None:
                reason = f"{reason}; the workload could not be read: {problem}"
            rollback = carry_out(
                dataclasses.replace(decision, reason=reason), verified, settings, recovery_check=check_recovery
            )
            attempted = True
            code = exit_code(verdict, decision, rollback, settings.on_inconclusive)
        record = _run_record(
            settings,
            verdict=verdict,
            reason=reason if skip is None else f"{reason}; {skip}",
            checks=tuple(checks),
            rollback=rollback,
            started_at=started_at,
            code=code,
            verified=verified,
            verdict_at=verdict_at,
        )
        return record, attempted

    def _verify(self, event: Event, settings: Settings) -> SuiteResult:
        assert self.config.verify_suite is not None
        return run_suite(
            self.config.verify_suite,
            event.where.target,
            event.where.namespace,
            settings,
            report_dir=settings.report_dir / event.id / "verify",
            timeout=self.config.suite_timeout,
        )

    def _report(self, record: RunRecord, event: Event, settings: Settings) -> RunRecord:
        """report.json in the event's directory, the JSON log line, the notifications, report.json again. A
        report that cannot be written anywhere costs neither the log line nor the notifications."""
        directory = self.config.settings.report_dir / event.id
        path = self._write(record, directory, event)
        write_log_line(record, self.log)
        # The notifications (and the Kubernetes Event on the workload) after report.json exists: a slow receiver
        # cannot cost the report. notify never raises; its outcomes are written into the report again.
        from ..notify import notify  # here: `rollcheck --version` must not import httpx through the CLI

        record = notify(record, settings)
        path = self._write(record, directory, event) or path
        where = f"report at {path}" if path is not None else "no report could be written"
        self.log.write(f"rollcheck serve: event {event.id}: {record.rollback.action.value}; {where}\n")
        self.log.flush()
        return record

    def _write(self, record: RunRecord, directory: Path, event: Event) -> Path | None:
        try:
            return write_report_safely(record, directory, say=self.log)
        except OSError as error:  # its fallback (a temporary directory) failed too
            self.log.write(f"rollcheck serve: event {event.id}: report.json could not be written anywhere: {error}\n")
            self.log.flush()
            return None


def _read_release(settings: Settings) -> tuple[Release | None, LiveState | None, str | None]:
    """The release the workload (or Helm release) runs now, the one a rollback may undo and nothing newer, and
    its live state for the guards. Read at once, without waiting for a rollout: the alert is about what has
    been running, and a rollout under way is a reason to leave it alone."""
    from ..helm import Helm
    from ..helm import read_target_release
    from ..kube import connect
    from ._guards import read_live

    assert settings.target is not None
    helm = Helm(binary=settings.helm, kubeconfig=settings.kubeconfig, context=settings.context)
    try:
        with connect(kubeconfig=settings.kubeconfig, context=settings.context) as kube:
            release = read_target_release(kube, helm, settings.target, settings.namespace, wait=0)
            return release, read_live(kube, helm, release), None
    except RollcheckError as error:
        return None, None, str(error)


def _alert_check(alert: Alert) -> CheckResult:
    summary = alert.annotations.get("summary") or alert.annotations.get("description") or "no summary"
    since = alert.starts_at.isoformat() if alert.starts_at else "an unknown time"
    return CheckResult(
        id=f"alertmanager/{alert.name}",
        category=CheckCategory.CUSTOM,
        outcome=CheckOutcome.FAILED,
        gating=True,
        severity=_SEVERITIES.get(alert.labels.get("severity", ""), Severity.CRITICAL),
        duration_s=0.0,
        message=f"{alert.name} firing since {since}: {summary}",
    )


def _suite_check(suite: Path, result: SuiteResult) -> CheckResult:
    outcome = {
        SuiteOutcome.PASSED: CheckOutcome.PASSED,
        SuiteOutcome.FAILED: CheckOutcome.FAILED,
        SuiteOutcome.INCONCLUSIVE: CheckOutcome.INCONCLUSIVE,
    }[result.outcome]
    return CheckResult(
        id=f"verify/{suite}",
        category=CheckCategory.CUSTOM,
        outcome=outcome,
        gating=True,
        severity=Severity.CRITICAL,
        duration_s=0.0,
        message=f"{result.reason} (exit {result.exit_code}; report in {result.report_dir})",
    )


def _run_record(
    settings: Settings,
    *,
    verdict: Verdict,
    reason: str,
    checks: tuple[CheckResult, ...],
    rollback: RollbackRecord,
    started_at: datetime.datetime,
    code: ExitCode,
    verified: Release | None = None,
    verdict_at: datetime.datetime | None = None,
) -> RunRecord:
    return RunRecord(
        verdict=verdict,
        target=str(settings.target),
        namespace=settings.namespace,
        release=ReleaseSummary(revision=verified.revision, images=verified.images, version=verified.version)
        if verified
        else ReleaseSummary(),
        checks=checks,
        rollback=rollback,
        timings=Timings(
            started_at=started_at,
            verdict_at=verdict_at,
            rollback_issued_at=rollback.issued_at,
            rollback_completed_at=rollback.finished_at if rollback.issued_at else None,
            finished_at=_now(),
        ),
        context=ci_context(os.environ),
        exit_code=int(code),
        reason=reason,
    )
