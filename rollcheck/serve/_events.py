"""From firing alerts to rollbacks: which alerts start a rollback event, and what one event does.

Admission (under one lock, quick, no I/O): a resolved alert does nothing; an alert without a workload or
outside the allowed namespaces is refused; a repeat of an alert already handled, an alert for a workload
whose event is still running, and an alert within the cooldown after a rollback start nothing. Anything
else starts one event, on its own worker thread, so the HTTP answer never waits for the Kubernetes API.

An event (one at a time per workload) runs the pipeline of `rollcheck run` from the decision on: read the
release now running, the guard against newer deploys, the optional verification suite, decide, act, then
report.json (in a directory of its own), the JSON log line, and the notifications.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
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
from ._alerts import Alert
from ._alerts import AlertTarget
from ._alerts import resolve_target
from ._config import ServeConfig
from ._metrics import ServeMetrics
from ._suite import SuiteOutcome
from ._suite import SuiteResult
from ._suite import run_suite

__all__ = ["Admission", "EventDesk"]

#: How many alert firings are remembered for recognising repeats; the oldest are forgotten first.
_REMEMBERED = 10_000
_SEVERITIES = {"critical": Severity.CRITICAL, "page": Severity.CRITICAL, "warning": Severity.WARNING}
_SEVERITIES |= {"info": Severity.INFO}


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass(frozen=True)
class Admission:
    """The answer to one webhook delivery."""

    status: int
    """202 when an event was started or is already handling it, 403/422 when every firing alert was refused,
    200 when there was nothing to do."""
    body: dict[str, Any]
    """What happened to each alert, for the caller and whoever reads Alertmanager's logs."""


@dataclass(frozen=True)
class _Event:
    id: str
    where: AlertTarget
    alert: Alert


class EventDesk:
    """Admits alerts and runs their events. Thread-safe; one instance per receiver."""

    def __init__(self, config: ServeConfig, metrics: ServeMetrics, log: TextIO) -> None:
        self.config = config
        self.metrics = metrics
        self.log = log
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, str] = OrderedDict()
        self._running: dict[AlertTarget, str] = {}
        self._cooldown_until: dict[AlertTarget, float] = {}
        self._target_locks: dict[AlertTarget, threading.Lock] = {}
        self._threads: set[threading.Thread] = set()
        self.records: dict[str, RunRecord] = {}
        """Each finished event's record, by event id."""

    # -- admission -----------------------------------------------------------------------------------------

    def admit(self, alerts: list[Alert]) -> Admission:
        started: list[_Event] = []
        results: list[dict[str, Any]] = []
        forbidden = False
        with self._lock:
            for alert in alerts:
                self.metrics.count("rollcheck_serve_alerts_received_total", "firing" if alert.firing else "resolved")
                result, event, refused_namespace = self._admit_one(alert)
                forbidden |= refused_namespace
                results.append(result)
                if event is not None:
                    started.append(event)
        for event in started:
            thread = threading.Thread(target=self._run, args=(event,), name=f"rollcheck-{event.id}", daemon=True)
            with self._lock:
                self._threads.add(thread)
            thread.start()
        outcomes = {result["outcome"] for result in results}
        if outcomes & {"started", "repeat", "in_progress", "cooldown"}:
            status = 202
        elif "refused" in outcomes:
            status = 403 if forbidden else 422
        else:
            status = 200
        return Admission(status, {"alerts": results})

    def _admit_one(self, alert: Alert) -> tuple[dict[str, Any], _Event | None, bool]:
        result: dict[str, Any] = {"alert": alert.name}
        if not alert.firing:
            return {**result, "outcome": "ignored", "reason": "resolved alerts do nothing"}, None, False
        try:
            where = resolve_target(alert.labels)
        except ValueError as error:
            self.metrics.count("rollcheck_serve_alerts_refused_total", "no_target")
            return {**result, "outcome": "refused", "reason": str(error)}, None, False
        result |= {"target": str(where.target), "namespace": where.namespace}
        allowed = self.config.allow_namespaces
        if allowed and where.namespace not in allowed:
            self.metrics.count("rollcheck_serve_alerts_refused_total", "namespace_not_allowed")
            reason = f"namespace {where.namespace!r} is not one of --allow-namespace {', '.join(sorted(allowed))}"
            return {**result, "outcome": "refused", "reason": reason}, None, True
        if alert.key in self._seen:
            return self._coalesced(result, "repeat", f"already handled by event {self._seen[alert.key]}")
        if where in self._running:
            self._remember(alert.key, self._running[where])
            return self._coalesced(result, "in_progress", f"event {self._running[where]} is handling {where.target}")
        until = self._cooldown_until.get(where, 0.0)
        if time.monotonic() < until:
            reason = f"{where.target} was rolled back {self.config.cooldown - (until - time.monotonic()):.0f}s ago"
            return self._coalesced(result, "cooldown", f"{reason}; cooldown of {self.config.cooldown:g}s")
        event = _Event(self._event_id(where), where, alert)
        self._remember(alert.key, event.id)
        self._running[where] = event.id
        return {**result, "outcome": "started", "event": event.id}, event, False

    def _coalesced(self, result: dict[str, Any], outcome: str, reason: str) -> tuple[dict[str, Any], None, bool]:
        self.metrics.count("rollcheck_serve_alerts_coalesced_total", outcome)
        return {**result, "outcome": outcome, "reason": reason}, None, False

    def _remember(self, key: str, event_id: str) -> None:
        self._seen[key] = event_id
        while len(self._seen) > _REMEMBERED:
            self._seen.popitem(last=False)

    @staticmethod
    def _event_id(where: AlertTarget) -> str:
        stamp = _now().strftime("%Y%m%dT%H%M%SZ")
        return f"{stamp}-{where.namespace}-{where.target.kind.value}-{where.target.name}-{uuid.uuid4().hex[:6]}"

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

    def _run(self, event: _Event) -> None:
        attempted = False
        settings = dataclasses.replace(self.config.settings, target=event.where.target, namespace=event.where.namespace)
        try:
            with self.exclusive(event.where, timeout=None):
                record, attempted = self._record(event, settings)
                record = self._report(record, event, settings)
            self.records[event.id] = record
            self.metrics.count("rollcheck_serve_rollbacks_total", record.rollback.action.value)
            rollback = record.rollback
            if attempted and rollback.started_at and rollback.finished_at:
                self.metrics.observe_duration((rollback.finished_at - rollback.started_at).total_seconds())
        except Exception as error:  # a bug of ours after the record was made: say so, keep serving
            self.log.write(f"rollcheck serve: event {event.id} broke while reporting: {error!r}\n")
            self.log.flush()
        finally:
            with self._lock:
                self._running.pop(event.where, None)
                if attempted:
                    self._cooldown_until[event.where] = time.monotonic() + self.config.cooldown
                self._threads.discard(threading.current_thread())

    def _record(self, event: _Event, settings: Settings) -> tuple[RunRecord, bool]:
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
        self, event: _Event, settings: Settings, alert_check: CheckResult, started_at: datetime.datetime
    ) -> tuple[RunRecord, bool]:
        alert = event.alert
        reason = f"alert {alert.name} is firing for {event.where.target} in namespace {event.where.namespace}"
        verified, problem = _read_release(settings)
        checks = [alert_check]
        skip = _newer_than_alert(alert, verified) if verified is not None else None
        suite: SuiteResult | None = None
        if skip is None and verified is not None and self.config.verify_suite is not None:
            suite = run_suite(
                self.config.verify_suite,
                event.where.target,
                event.where.namespace,
                settings,
                report_dir=settings.report_dir / event.id / "verify",
                timeout=self.config.suite_timeout,
            )
            checks.append(_suite_check(self.config.verify_suite, suite))
            if suite.outcome is SuiteOutcome.PASSED:
                skip = f"the verification suite passed ({suite.reason}), so the alert is not acted on"
        verdict = Verdict.PASSED if suite is not None and suite.outcome is SuiteOutcome.PASSED else Verdict.FAILED
        verdict_at = _now()
        # A release that declares rolling back unsafe is frozen here too, as under `rollcheck run`.
        unsafe = verified.rollback_unsafe if verified is not None else None
        decision = decide(Verdict.FAILED, reason, settings, rollback_unsafe=unsafe)
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

    def _report(self, record: RunRecord, event: _Event, settings: Settings) -> RunRecord:
        """report.json in the event's directory, the JSON log line, the notifications, report.json again."""
        directory = self.config.settings.report_dir / event.id
        path = write_report_safely(record, directory, say=self.log)
        write_log_line(record, self.log)
        # The notifications (and the Kubernetes Event on the workload) after report.json exists: a slow receiver
        # cannot cost the report. notify never raises; its outcomes are written into the report again.
        from ..notify import notify  # here: `rollcheck --version` must not import httpx through the CLI

        record = notify(record, settings)
        write_report_safely(record, directory, say=self.log)
        self.log.write(f"rollcheck serve: event {event.id}: {record.rollback.action.value}; report at {path}\n")
        self.log.flush()
        return record


def _read_release(settings: Settings) -> tuple[Release | None, str | None]:
    """The release the workload (or Helm release) runs now: the one a rollback may undo, and nothing newer. Read
    at once, without waiting for a rollout: the alert is about what has been running."""
    from ..helm import Helm
    from ..helm import read_target_release
    from ..kube import connect

    assert settings.target is not None
    helm = Helm(binary=settings.helm, kubeconfig=settings.kubeconfig, context=settings.context)
    try:
        with connect(kubeconfig=settings.kubeconfig, context=settings.context) as kube:
            return read_target_release(kube, helm, settings.target, settings.namespace, wait=0), None
    except RollcheckError as error:
        return None, str(error)


def _newer_than_alert(alert: Alert, release: Release) -> str | None:
    """Why the workload now runs something the alert is not about; None when it is the alert's release."""
    version = alert.labels.get("version")
    if version and version != release.version:
        return f"the alert is about version {version}, but the workload now runs {release.version or 'no tag'}"
    revision = alert.labels.get("revision")
    if revision and revision != str(release.revision):
        return f"the alert is about revision {revision}, but the workload is now at revision {release.revision}"
    completed = release.rollout_completed_at
    if completed is not None and alert.starts_at is not None and completed > alert.starts_at:
        return (
            f"the workload's rollout completed at {completed.isoformat()}, after the alert started "
            f"({alert.starts_at.isoformat()}): a newer deploy is not the alert's to undo"
        )
    return None


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
