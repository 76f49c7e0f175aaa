"""What a check measured, kept for the report, and failure messages built from it."""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable

from .._errors import InsufficientData
from ..record._comparison import Comparison
from ..record._model import Measurement
from ..settings._model import Settings
from ._prom import Prom
from ._promql import duration

__all__ = ["Evidence", "describe", "format_value", "require_requests"]


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Evidence:
    """Records measurements into a list the report reads (the `evidence` fixture passes the check's own).

    ```python
    def test_queue_drains(prom, evidence):
        query = f"max(queue_depth{{{prom.selector}}})"
        depth = evidence.record(query, prom.value(query), threshold=100)
        assert depth.value is not None and depth.value < 100, describe(depth, "queue depth {value} >= {threshold}")
    ```
    """

    def __init__(self, sink: list[Measurement], *, now: Callable[[], datetime.datetime] = _utcnow) -> None:
        self._sink = sink
        self._now = now

    @property
    def measurements(self) -> tuple[Measurement, ...]:
        """Everything recorded so far, in order."""
        return tuple(self._sink)

    def record(
        self,
        query: str,
        value: float | None,
        threshold: float | None = None,
        window: float | str | None = None,
        *,
        at: datetime.datetime | None = None,
        comparison: Comparison | None = None,
    ) -> Measurement:
        """Keep one measurement. `window` is seconds (shown as a Prometheus duration) or a duration string;
        `at` defaults to now; `comparison` is a baseline comparison's judgement, kept with it."""
        shown_window = duration(window) if isinstance(window, int | float) else window
        measurement = Measurement(
            query=query,
            value=value,
            threshold=threshold,
            window=shown_window,
            at=at or self._now(),
            comparison=comparison,
        )
        self._sink.append(measurement)
        return measurement


def format_value(value: float | None) -> str:
    """A number for a message: four significant digits, `+Inf`, or `no value`."""
    if value is None:
        return "no value"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.4g}"


def describe(measurement: Measurement, comparison: str) -> str:
    """A failure message from a measurement. `comparison` names the quantity and the rule with `{value}` and
    `{threshold}` placeholders; the window and the query are appended:

    `describe(m, "error rate {value} > max {threshold}")` →
    `error rate 0.31 > max 0.01 over 60s (query: sum(...)/sum(...))`
    """
    text = comparison.replace("{value}", format_value(measurement.value)).replace(
        "{threshold}", format_value(measurement.threshold)
    )
    if measurement.window:
        text += f" over {measurement.window}"
    return f"{text} (query: {measurement.query})"


def require_requests(prom: Prom, settings: Settings, window_seconds: float, evidence: Evidence) -> float:
    """The minimum evidence rule of the metric checks: count the release's requests over the window with
    `settings.requests_query` and record the count; fewer than `settings.min_requests` (or none at all) raise
    InsufficientData naming the count, the minimum and the query, because a rate over a handful of requests
    says nothing. Returns the count."""
    reading = prom.read(prom.render(settings.requests_query, window_seconds=window_seconds, selector=settings.selector))
    evidence.record(reading.query, reading.value, settings.min_requests, window_seconds, at=reading.at)
    if reading.value is None:
        raise InsufficientData(
            f"no requests counted in the {duration(window_seconds)} window: {reading.reason}; at least "
            f"{settings.min_requests} are needed to judge (query: {reading.query})"
        )
    if reading.value < settings.min_requests:
        raise InsufficientData(
            f"{format_value(reading.value)} requests in the {duration(window_seconds)} window, fewer than the "
            f"minimum of {settings.min_requests} needed to judge (query: {reading.query})"
        )
    return reading.value
