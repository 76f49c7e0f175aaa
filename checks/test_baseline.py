"""The release is not significantly worse than its baseline: its error ratio and p99 latency per step against
the previous ReplicaSet's pods (`--baseline previous-pods`) or the workload before the rollout
(`--baseline before-rollout`), with a Mann-Whitney U test. Skipped unless a baseline is configured."""

from __future__ import annotations

import pytest

from rollcheck.measure import BaselineComparer
from rollcheck.measure import describe_comparison
from rollcheck.record import ComparisonOutcome
from rollcheck.settings import Settings


@pytest.mark.rollcheck_check(category="error_rate")
def test_error_rate_vs_baseline(baseline: BaselineComparer, rollcheck_settings: Settings) -> None:
    comparison = baseline.compare(rollcheck_settings.error_rate_query, what="error ratio")
    worse = comparison.outcome is ComparisonOutcome.FAILED
    assert not worse, describe_comparison(comparison, "error ratio")


@pytest.mark.rollcheck_check(category="latency")
def test_p99_latency_vs_baseline(baseline: BaselineComparer, rollcheck_settings: Settings) -> None:
    comparison = baseline.compare(rollcheck_settings.p99_query, what="p99 latency")
    worse = comparison.outcome is ComparisonOutcome.FAILED
    assert not worse, describe_comparison(comparison, "p99 latency (s)")
