"""A baseline comparison in the record: both samples summarised, the Mann-Whitney U test and its judgement."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class ComparisonOutcome(enum.StrEnum):
    PASSED = "passed"
    """No difference in the bad direction that is both significant and beyond the tolerance."""
    FAILED = "failed"
    """Significantly worse than the baseline, by more than the tolerance."""
    INSUFFICIENT_DATA = "insufficient_data"
    """Too few samples on either side to judge: inconclusive, never pass or fail."""


@dataclass(frozen=True, kw_only=True)
class SampleSummary:
    """One side of a baseline comparison, summarised."""

    n: int
    """How many samples (per-interval values) there are."""
    median: float | None
    """Their median; None without samples."""
    mean: float | None
    """Their mean; None without samples."""
    minimum: float | None
    """The smallest; None without samples."""
    maximum: float | None
    """The largest; None without samples."""

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "median": self.median, "mean": self.mean, "min": self.minimum, "max": self.maximum}


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """The release's samples against the baseline's, judged with a one- or two-sided Mann-Whitney U test."""

    baseline: SampleSummary
    """The previous release's samples (its pods meanwhile, or the service before the rollout)."""
    canary: SampleSummary
    """The release's samples."""
    statistic: float | None
    """The U statistic of the release's samples; None when there were too few samples to test."""
    p_value: float | None
    """The test's p-value for the configured direction; None when there were too few samples."""
    effect_size: float | None
    """Relative change of the mean, (release - baseline) / |baseline|; inf from a zero baseline."""
    direction: str
    """Which change is bad: increase, decrease or either."""
    confidence: float
    """A difference counts when p < 1 - confidence."""
    tolerance: float
    """A relative change up to this is no failure, however significant."""
    outcome: ComparisonOutcome
    """The judgement."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "baseline": self.baseline.to_dict(),
            "canary": self.canary.to_dict(),
            "statistic": self.statistic,
            "p_value": self.p_value,
            "effect_size": self.effect_size,
            "direction": self.direction,
            "confidence": self.confidence,
            "tolerance": self.tolerance,
        }
