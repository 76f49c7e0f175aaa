"""Which firing alerts start a rollback event: quick, no I/O, under the caller's lock.

A resolved alert does nothing; an alert without a workload or outside the allowed namespaces is refused; a repeat
of an alert already handled, an alert for a workload whose event is still running, and an alert within the
cooldown after a rollback start nothing. Anything else starts one event.

What is remembered here (firings seen, the cooldown) lives in memory only. It saves work; it is not what stops
a rollback loop across restarts: the event reads rollcheck's markers on the workload for that (see _guards).
"""

from __future__ import annotations

import datetime
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ._alerts import Alert
from ._alerts import AlertTarget
from ._alerts import resolve_target
from ._config import ServeConfig
from ._metrics import ServeMetrics

__all__ = ["Admission", "Admissions", "Event"]

#: How many alert firings are remembered for recognising repeats; the oldest are forgotten first.
_REMEMBERED = 10_000


@dataclass(frozen=True)
class Admission:
    """The answer to one webhook delivery."""

    status: int
    """202 when an event was started or is already handling it, 403/422 when every firing alert was refused,
    200 when there was nothing to do."""
    body: dict[str, Any]
    """What happened to each alert, for the caller and whoever reads Alertmanager's logs."""


@dataclass(frozen=True)
class Event:
    """One rollback event: an alert admitted for a workload."""

    id: str
    where: AlertTarget
    alert: Alert


class Admissions:
    """The admission state. Not thread-safe by itself: the EventDesk calls it under its lock."""

    def __init__(self, config: ServeConfig, metrics: ServeMetrics) -> None:
        self.config = config
        self.metrics = metrics
        self._seen: OrderedDict[str, str] = OrderedDict()
        self.running: dict[AlertTarget, str] = {}
        self._cooldown_until: dict[AlertTarget, float] = {}

    def admit(self, alerts: list[Alert]) -> tuple[Admission, list[Event]]:
        started: list[Event] = []
        results: list[dict[str, Any]] = []
        forbidden = False
        for alert in alerts:
            self.metrics.count("rollcheck_serve_alerts_received_total", "firing" if alert.firing else "resolved")
            result, event, refused_namespace = self._admit_one(alert)
            forbidden |= refused_namespace
            results.append(result)
            if event is not None:
                started.append(event)
        outcomes = {result["outcome"] for result in results}
        if outcomes & {"started", "repeat", "in_progress", "cooldown"}:
            status = 202
        elif "refused" in outcomes:
            status = 403 if forbidden else 422
        else:
            status = 200
        return Admission(status, {"alerts": results}), started

    def finished(self, event: Event, *, cooldown: bool, retry: bool) -> None:
        """The event is over: start the cooldown if it acted; with `retry`, forget every firing it handled, so a
        redelivery of the same alert is judged again (it failed before anything was sent to the cluster)."""
        self.running.pop(event.where, None)
        if cooldown:
            self._cooldown_until[event.where] = time.monotonic() + self.config.cooldown
        if retry:
            for key in [key for key, handled_by in self._seen.items() if handled_by == event.id]:
                del self._seen[key]

    def _admit_one(self, alert: Alert) -> tuple[dict[str, Any], Event | None, bool]:
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
        if where in self.running:
            self._remember(alert.key, self.running[where])
            return self._coalesced(result, "in_progress", f"event {self.running[where]} is handling {where.target}")
        until = self._cooldown_until.get(where, 0.0)
        if time.monotonic() < until:
            reason = f"{where.target} was rolled back {self.config.cooldown - (until - time.monotonic()):.0f}s ago"
            return self._coalesced(result, "cooldown", f"{reason}; cooldown of {self.config.cooldown:g}s")
        event = Event(_event_id(where), where, alert)
        self._remember(alert.key, event.id)
        self.running[where] = event.id
        return {**result, "outcome": "started", "event": event.id}, event, False

    def _coalesced(self, result: dict[str, Any], outcome: str, reason: str) -> tuple[dict[str, Any], None, bool]:
        self.metrics.count("rollcheck_serve_alerts_coalesced_total", outcome)
        return {**result, "outcome": outcome, "reason": reason}, None, False

    def _remember(self, key: str, event_id: str) -> None:
        self._seen[key] = event_id
        while len(self._seen) > _REMEMBERED:
            self._seen.popitem(last=False)


def _event_id(where: AlertTarget) -> str:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{where.namespace}-{where.target.kind.value}-{where.target.name}-{uuid.uuid4().hex[:6]}"
