"""Baseline comparison: the release's per-interval samples against the previous release's, judged the way
Kayenta's judge does it, with a Mann-Whitney U test, which needs no normal distribution and suits the handful
of samples a post-deploy window gives.

A comparison fails only when all of these hold:
- each side has at least `min_samples` samples (otherwise it is insufficient data: inconclusive, never a
  pass or a fail);
- the test can fail at all with samples this small: the smallest p-value it can give for these sample sizes
  (all of the release's samples beyond all of the baseline's in the bad direction) is below 1 - confidence.
  Otherwise it is insufficient data too: two or three samples a side can never show a difference at 95%
  confidence (the exact one-sided test's smallest p for 3 against 3 is 1/20 = 0.05), and a comparison that
  cannot fail must not report a pass;
- the test, one-sided for `increase` or `decrease` and two-sided for `either`, gives p < 1 - confidence;
- the relative change of the mean goes the bad way by more than `tolerance`: a significant but tiny change
  (1.00 ms → 1.02 ms) is no reason to roll back.

Pure: no I/O, no pytest. scipy is imported on first use, so runs without a baseline never load it.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Sequence
from typing import Literal

from ..record._comparison import Comparison
from ..record._comparison import ComparisonOutcome
from ..record._comparison import SampleSummary
from ..settings._model import Direction
from ._evidence import format_value

__all__ = ["compare", "describe_comparison", "effect_size", "significance_level", "smallest_p_value", "summarize"]

# scipy's names for the alternative hypothesis about the release's samples (its first argument).
_ALTERNATIVE: dict[Direction, Literal["greater", "less", "two-sided"]] = {
    Direction.INCREASE: "greater",
    Direction.DECREASE: "less",
    Direction.EITHER: "two-sided",
}


def summarize(samples: Sequence[float]) -> SampleSummary:
    """n, median, mean, min and max of one side; the statistics are None without samples."""
    if not samples:
        return SampleSummary(n=0, median=None, mean=None, minimum=None, maximum=None)
    return SampleSummary(
        n=len(samples),
        median=float(statistics.median(samples)),
        mean=float(statistics.fmean(samples)),
        minimum=float(min(samples)),
        maximum=float(max(samples)),
    )


def effect_size(baseline_mean: float, canary_mean: float) -> float:
    """The relative change of the mean, (canary - baseline) / |baseline|. From a zero baseline any change is
    unbounded (±inf): 0 errors before and some after is as large a change as there is."""
    if canary_mean == baseline_mean:
        return 0.0
    if baseline_mean == 0:
        return math.copysign(math.inf, canary_mean)
    return (canary_mean - baseline_mean) / abs(baseline_mean)


def _check_samples(samples: Sequence[float], side: str) -> None:
    bad = [value for value in samples if math.isnan(value)]
    if bad:
        raise ValueError(f"the {side} samples contain NaN ({len(bad)} of {len(samples)}); drop empty intervals first")


def smallest_p_value(n_release: int, n_baseline: int, direction: Direction, *, ties: bool = False) -> float:
    """The smallest p-value the test can give for these sample sizes: the p of the most extreme outcome, every
    release sample beyond every baseline sample in the bad direction (either way for `either`).

    scipy decides the method from the data: exact (1 / C(n1 + n2, n1) one-sided, twice that two-sided) unless
    both sides have more than 8 samples or there are ties, then the normal approximation with tie and
    continuity corrections. Without ties the extreme is distinct values; with `ties`, each side constant (0s
    against 1s, a zero-error baseline say), whose tie correction gives the smallest p tied samples of these sizes
    can reach. Each is asked of scipy itself, so the bound follows the method scipy will use."""
    if n_release < 1 or n_baseline < 1:
        return 1.0
    if ties:
        release = [1.0] * n_release
        baseline = [0.0] * n_baseline
    else:
        release = [float(n_baseline + i) for i in range(n_release)]
        baseline = [float(i) for i in range(n_baseline)]
    if direction is Direction.DECREASE:
        release, baseline = [-value for value in release], [-value for value in baseline]
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(release, baseline, alternative=_ALTERNATIVE[direction], method="auto").pvalue)


def significance_level(confidence: float) -> float:
    """1 - confidence, rounded to 12 places: in floating point 1 - 0.95 is 0.05000000000000004, above the exact
    test's 1/20 = 0.05, which would make p = 0.05 count as p < 0.05."""
    return round(1 - confidence, 12)


def _has_ties(baseline: Sequence[float], canary: Sequence[float]) -> bool:
    pooled = [*baseline, *canary]
    return len(set(pooled)) < len(pooled)


def _worse(effect: float, direction: Direction, tolerance: float) -> bool:
    if direction is Direction.INCREASE:
        return effect > tolerance
    if direction is Direction.DECREASE:
        return effect < -tolerance
    return abs(effect) > tolerance


def compare(
    baseline: Sequence[float],
    canary: Sequence[float],
    *,
    direction: Direction,
    confidence: float,
    tolerance: float,
    min_samples: int = 5,
) -> Comparison:
    """Judge `canary` (the release's samples) against `baseline`. See the module docstring for the rule.

    The statistic is U of the release's samples: the number of (release, baseline) pairs in which the release's
    value is larger, ties counting one half. The p-value is scipy's, exact for small samples without ties and
    normal-approximated (with tie and continuity corrections) otherwise.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, exclusive, not {confidence!r}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be 0 or more, not {tolerance!r}")
    _check_samples(baseline, "baseline")
    _check_samples(canary, "release")
    base, new = summarize(baseline), summarize(canary)
    judged = functools.partial(
        Comparison,
        baseline=base,
        canary=new,
        direction=direction.value,
        confidence=confidence,
        tolerance=tolerance,
    )
    if base.n < max(min_samples, 1) or new.n < max(min_samples, 1):
        return judged(statistic=None, p_value=None, effect_size=None, outcome=ComparisonOutcome.INSUFFICIENT_DATA)
    from scipy.stats import mannwhitneyu

    result = mannwhitneyu(
        [float(value) for value in canary],
        [float(value) for value in baseline],
        alternative=_ALTERNATIVE[direction],
        method="auto",
    )
    statistic, p_value = float(result.statistic), float(result.pvalue)
    effect = effect_size(statistics.fmean(baseline), statistics.fmean(canary))
    alpha = significance_level(confidence)
    if smallest_p_value(new.n, base.n, direction, ties=_has_ties(baseline, canary)) >= alpha:
        # The test cannot fail with samples this small, so its "pass" would say nothing: U and p are kept
        # (describe_comparison explains from them), but the outcome is insufficient data.
        outcome = ComparisonOutcome.INSUFFICIENT_DATA
    elif p_value < alpha and _worse(effect, direction, tolerance):
        outcome = ComparisonOutcome.FAILED
    else:
        outcome = ComparisonOutcome.PASSED
    return judged(statistic=statistic, p_value=p_value, effect_size=effect, outcome=outcome)


def _percent(effect: float | None) -> str:
    if effect is None:
        return "no value"
    if math.isinf(effect):
        return "+inf%" if effect > 0 else "-inf%"
    return f"{effect:+.1%}"


def _side(name: str, summary: SampleSummary) -> str:
    return (
        f"{name} median {format_value(summary.median)}, mean {format_value(summary.mean)} "
        f"(n={summary.n}, {format_value(summary.minimum)}..{format_value(summary.maximum)})"
    )


def describe_comparison(comparison: Comparison, what: str) -> str:
    """One sentence for a check's message: both samples, the change, U, p and the rule that decided."""
    sides = f"{what}: {_side('release', comparison.canary)} vs {_side('baseline', comparison.baseline)}"
    alpha = significance_level(comparison.confidence)
    test = "two-sided" if comparison.direction == Direction.EITHER.value else f"one-sided, {comparison.direction}"
    if comparison.outcome is ComparisonOutcome.INSUFFICIENT_DATA and comparison.p_value is None:
        return f"{sides}; too few samples to compare (need at least the minimum on each side)"
    if comparison.outcome is ComparisonOutcome.INSUFFICIENT_DATA:
        # Tested, but too small to ever fail: say the smallest p these sizes allow. Whether the samples were tied
        # is not kept, but the bound that applied is the one at or above alpha (if both are, the sizes decide).
        n_release, n_baseline = comparison.canary.n, comparison.baseline.n
        direction = Direction(comparison.direction)
        free = smallest_p_value(n_release, n_baseline, direction)
        tied = smallest_p_value(n_release, n_baseline, direction, ties=True)
        if free >= alpha and tied >= alpha:
            samples, smallest = "samples", min(free, tied)
        elif tied >= alpha:
            samples, smallest = "tied samples", tied
        else:
            samples, smallest = "samples without ties", free
        return (
            f"{sides}; too few samples for the test to ever fail: the smallest p-value {n_release} release and "
            f"{n_baseline} baseline {samples} can give is {format_value(smallest)}, not below {alpha:.3g} ({test}), "
            f"so Mann-Whitney U={format_value(comparison.statistic)}, p={format_value(comparison.p_value)} says "
            "nothing; more samples are needed (a longer window, a shorter --baseline-step or a higher "
            "--baseline-min-samples)"
        )
    significant = "<" if comparison.p_value is not None and comparison.p_value < alpha else ">="
    return (
        f"{sides}; change of the mean {_percent(comparison.effect_size)} (tolerance {comparison.tolerance:.0%}), "
        f"Mann-Whitney U={format_value(comparison.statistic)}, p={format_value(comparison.p_value)} "
        f"{significant} {alpha:.3g} ({test})"
    )
