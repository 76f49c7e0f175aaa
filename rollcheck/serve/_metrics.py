"""The receiver's own metrics, served at /metrics in Prometheus' text exposition format (version 0.0.4).

Written by hand: prometheus_client is only a development dependency of rollcheck, and a few counters and one
histogram do not justify a runtime one.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict

__all__ = ["CONTENT_TYPE", "ServeMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Rollbacks wait for the restored rollout, so they take seconds to minutes.
DURATION_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

_COUNTERS = {
    "rollcheck_serve_requests_total": ("HTTP requests answered, by endpoint and status code.", ("endpoint", "code")),
    "rollcheck_serve_alerts_received_total": ("Alerts received from Alertmanager, by status.", ("status",)),
    "rollcheck_serve_alerts_refused_total": ("Firing alerts refused, by reason.", ("reason",)),
    "rollcheck_serve_alerts_coalesced_total": (
        "Firing alerts that started no rollback of their own (a repeat, a rollback already under way, the "
        "cooldown), by reason.",
        ("reason",),
    ),
    "rollcheck_serve_rollbacks_total": ("Rollback events finished, by the rollback's action.", ("action",)),
    "rollcheck_serve_flagger_checks_total": ("Flagger webhook checks answered, by outcome.", ("outcome",)),
}
_HISTOGRAM = "rollcheck_serve_rollback_duration_seconds"
_HISTOGRAM_HELP = "Time from the start of a rollback to its end (restored rollout and recovery check included)."


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    return ",".join(f'{name}="{_escape(value)}"' for name, value in zip(names, values, strict=True))


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf"
    return str(int(value)) if value == int(value) else repr(value)


class ServeMetrics:
    """Thread-safe counters and the duration histogram; `render()` is the /metrics body."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[tuple[str, ...], float]] = {name: defaultdict(float) for name in _COUNTERS}
        self._buckets = [0] * len(DURATION_BUCKETS)
        self._sum = 0.0
        self._count = 0

    def count(self, name: str, *values: str) -> None:
        if len(values) != len(_COUNTERS[name][1]):
            raise ValueError(f"{name} takes labels {_COUNTERS[name][1]}, got {values}")
        with self._lock:
            self._counts[name][values] += 1

    def observe_duration(self, seconds: float) -> None:
        with self._lock:
            for position, bound in enumerate(DURATION_BUCKETS):
                if seconds <= bound:
                    self._buckets[position] += 1
            self._sum += seconds
            self._count += 1

    def value(self, name: str, *values: str) -> float:
        with self._lock:
            return self._counts[name].get(values, 0.0)

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            for name, (help_text, label_names) in _COUNTERS.items():
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
                for values, count in sorted(self._counts[name].items()):
                    lines.append(f"{name}{{{_labels(label_names, values)}}} {_number(count)}")
            lines += [f"# HELP {_HISTOGRAM} {_HISTOGRAM_HELP}", f"# TYPE {_HISTOGRAM} histogram"]
            for bound, count in zip(DURATION_BUCKETS, self._buckets, strict=True):
                lines.append(f'{_HISTOGRAM}_bucket{{le="{_number(bound)}"}} {count}')
            lines += [
                f'{_HISTOGRAM}_bucket{{le="+Inf"}} {self._count}',
                f"{_HISTOGRAM}_sum {_number(self._sum)}",
                f"{_HISTOGRAM}_count {self._count}",
            ]
        return "\n".join(lines) + "\n"
