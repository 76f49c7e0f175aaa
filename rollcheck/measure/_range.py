"""Per-interval samples of a query over a time range, and the `baseline` fixture's comparisons built on them.

A sample is the query evaluated at the end of one step with `{window}` set to the step, so the samples cover
back-to-back, non-overlapping intervals: independent values, as the Mann-Whitney test assumes. Each is an
instant query at its own time through the MetricsSource seam, which is what Prometheus' range API evaluates
too; so every query gets the same escaping, retries and error translation as the rest of rollcheck, and the
number of queries is bounded (MAX_STEPS).
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

from .._errors import InsufficientData
from ..record._comparison import Comparison
from ..record._comparison import ComparisonOutcome
from ..settings._model import Direction
from ..settings._model import Settings
from ._baseline import compare
from ._baseline import describe_comparison
from ._evidence import Evidence
from ._prom import read_scalar
from ._prometheus import MetricsSource
from ._promql import duration
from ._promql import render

__all__ = ["MAX_STEPS", "BaselineComparer", "BaselinePlan", "Samples", "range_samples"]

MAX_STEPS = 360
"""At most this many samples per side: an hour at 10 s steps."""


@dataclass(frozen=True)
class Samples:
    """One query's values over back-to-back steps."""

    query: str
    """The PromQL evaluated at each step."""
    values: tuple[float, ...]
    """The values of the steps that had one, oldest first."""
    missing: int
    """Steps without a value (no series, or NaN: no requests in that step)."""
    end: datetime.datetime
    """The end of the last step."""


def range_samples(
    source: MetricsSource, promql: str, *, end: datetime.datetime, seconds: float, step: float
) -> Samples:
    """`promql` evaluated at `end`, `end - step`, … over `seconds`: one value per whole step. Several series at
    one step raise MetricsUnavailable (aggregate the query); empty steps are counted, not guessed."""
    steps = math.floor(seconds / step + 1e-9)
    if steps > MAX_STEPS:
        raise ValueError(
            f"a {duration(seconds)} window at {duration(step)} steps is {steps} samples, more than {MAX_STEPS}; "
            "use a longer --baseline-step"
        )
    values: list[float] = []
    missing = 0
    for index in reversed(range(steps)):
        reading = read_scalar(source, promql, at=end - datetime.timedelta(seconds=index * step))
        if reading.value is None:
            missing += 1
        else:
            values.append(reading.value)
    return Samples(query=promql, values=tuple(values), missing=missing, end=end)


@dataclass(frozen=True)
class BaselinePlan:
    """What the release is compared with, and over which time."""

    canary_selector: str
    """Label matchers of the release's series."""
    baseline_selector: str
    """Label matchers of the baseline's series."""
    canary_end: datetime.datetime
    """End of the release's window."""
    baseline_end: datetime.datetime
    """End of the baseline's window: the same as the release's for previous pods, the rollout's start before."""
    seconds: float
    """Length of both windows."""
    hint: str
    """What to do when a side has too few samples, for the inconclusive message."""


class BaselineComparer:
    """What the `baseline` fixture gives a check: per-step samples of a query template for the release and its
    baseline, compared with a Mann-Whitney U test and recorded as evidence.

    ```python
    @pytest.mark.rollcheck_check(category="custom")
    def test_checkout_errors_vs_baseline(baseline):
        query = 'sum(rate(checkout_failures_total{{{selector}}}[{window}]))'
        comparison = baseline.compare(query, what="checkout failures")
        assert comparison.outcome is not ComparisonOutcome.FAILED, describe_comparison(comparison, "checkout failures")
    ```
    """

    def __init__(self, source: MetricsSource, plan: BaselinePlan, settings: Settings, evidence: Evidence) -> None:
        self.plan = plan
        """Selectors and windows of both sides."""
        self._source = source
        self._settings = settings
        self._evidence = evidence

    def compare(self, template: str, *, what: str, direction: Direction | None = None) -> Comparison:
        """Sample `template` (`{selector}` is each side's, `{window}` the step) on both sides and judge it, with
        the configured direction unless `direction` is given. Both sides are recorded as evidence, the
        comparison with the release's. Too few samples on either side raise InsufficientData."""
        plan, settings = self.plan, self._settings
        step = settings.baseline_step
        sides = []
        for selector, end in ((plan.baseline_selector, plan.baseline_end), (plan.canary_selector, plan.canary_end)):
            query = render(template, selector=selector, window_seconds=step)
            sides.append(range_samples(self._source, query, end=end, seconds=plan.seconds, step=step))
        before, after = sides
        comparison = compare(
            before.values,
            after.values,
            direction=direction or settings.baseline_direction,
            confidence=settings.baseline_confidence,
            tolerance=settings.baseline_tolerance,
            min_samples=settings.baseline_min_samples,
        )
        window = f"{duration(plan.seconds)} at {duration(step)} steps"
        self._evidence.record(before.query, comparison.baseline.median, window=window, at=before.end)
        self._evidence.record(
            after.query,
            comparison.canary.median,
            threshold=settings.baseline_tolerance,
            window=window,
            at=after.end,
            comparison=comparison,
        )
        if comparison.outcome is ComparisonOutcome.INSUFFICIENT_DATA:
            # Too few samples, or enough but too few to ever reach significance (describe_comparison says which).
            shortfall = (
                f": at least {settings.baseline_min_samples} samples are needed on each side ({before.missing} "
                f"baseline and {after.missing} release steps had no value)"
                if comparison.p_value is None
                else ""
            )
            raise InsufficientData(
                f"{describe_comparison(comparison, what)}{shortfall}; {plan.hint} "
                f"(queries: {after.query} vs {before.query})"
            )
        return comparison
