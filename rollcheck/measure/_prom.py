"""What checks read from a MetricsSource: one number (or why there is none), and the `prom` fixture's object."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

from .._errors import MetricsUnavailable
from ._prometheus import MetricsSource
from ._prometheus import Sample
from ._promql import escape_label_value
from ._promql import render

__all__ = ["Prom", "Reading", "read_scalar", "scalar"]


@dataclass(frozen=True)
class Reading:
    """One number read from a query that should give at most one series, or why there is none."""

    query: str
    """The PromQL that was evaluated."""
    value: float | None
    """The value; None when the query gave no series or NaN. +Inf is kept as inf."""
    reason: str | None
    """Why `value` is None, in words for a message; None when there is a value."""
    at: datetime.datetime
    """Evaluation time: Prometheus' for a value, the call time when nothing came back."""
    found: bool = True
    """False when the query returned no series at all (as opposed to NaN)."""


def _several(promql: str, samples: list[Sample]) -> MetricsUnavailable:
    shown = "; ".join("{" + ", ".join(f"{k}={v!r}" for k, v in sorted(s.labels.items())) + "}" for s in samples[:3])
    more = f" and {len(samples) - 3} more" if len(samples) > 3 else ""
    return MetricsUnavailable(
        f"query {promql!r} returned {len(samples)} series where one was expected: {shown}{more}; "
        "aggregate it (sum, max, … by nothing) or narrow the selector"
    )


def read_scalar(source: MetricsSource, promql: str, *, at: datetime.datetime | None = None) -> Reading:
    """Evaluate `promql` expecting one value. No series or NaN give a Reading without a value (and why);
    several series raise MetricsUnavailable listing up to three of their label sets."""
    called_at = datetime.datetime.now(datetime.UTC)
    samples = source.query(promql, at=at)
    if not samples:
        reason = "the query returned no series (no matching samples in the window)"
        return Reading(query=promql, value=None, reason=reason, at=at or called_at, found=False)
    if len(samples) > 1:
        raise _several(promql, samples)
    sample = samples[0]
    if math.isnan(sample.value):
        reason = "the query returned NaN (usually 0/0: no requests or no observations in the window)"
        return Reading(query=promql, value=None, reason=reason, at=sample.at)
    return Reading(query=promql, value=sample.value, reason=None, at=sample.at)


def scalar(source: MetricsSource, promql: str, *, at: datetime.datetime | None = None) -> float | None:
    """The one value of `promql`; None for no series or NaN (see `read_scalar` for the reason)."""
    return read_scalar(source, promql, at=at).value


class Prom:
    """What the `prom` fixture gives a check: queries on the run's Prometheus and the release's selector.

    ```python
    def test_queue_drains(prom):
        depth = prom.value(f"max(queue_depth{{{prom.selector}}})")
        assert depth is not None and depth < 100
    ```
    """

    def __init__(self, source: MetricsSource, *, selector: str, max_query_seconds: float = 0.0) -> None:
        self.source = source
        self.selector = selector
        """Label matchers (without braces) for the release's series."""
        self.max_query_seconds = max_query_seconds
        """Upper bound of one query's duration (0 when unknown): checks keep that much time for querying."""

    def __repr__(self) -> str:
        return f"Prom({self.source!r}, selector={self.selector!r})"

    def vector(self, promql: str) -> list[Sample]:
        """Every sample of an instant query, evaluated now."""
        return self.source.query(promql)

    def read(self, promql: str) -> Reading:
        """The one value of `promql` with the reason when there is none (see `read_scalar`)."""
        return read_scalar(self.source, promql)

    def value(self, promql: str) -> float | None:
        """The one value of `promql`; None when there is no series or NaN."""
        return self.read(promql).value

    @staticmethod
    def escape(value: str) -> str:
        """`value` escaped for the inside of a double-quoted PromQL string."""
        return escape_label_value(value)

    def render(self, template: str, *, window_seconds: float, selector: str | None = None) -> str:
        """Fill `{selector}` (this Prom's, unless given) and `{window}` in a query template."""
        return render(template, selector=self.selector if selector is None else selector, window_seconds=window_seconds)
