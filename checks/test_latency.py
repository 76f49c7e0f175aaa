"""The release's 99th percentile latency over the metric window stays within --max-p99-latency."""

from __future__ import annotations

import pytest

from rollcheck import InsufficientData
from rollcheck.measure import Evidence
from rollcheck.measure import MetricWindow
from rollcheck.measure import describe
from rollcheck.settings import Settings

# A metric check: with --watch it is repeated every interval, measuring over the last interval.
pytestmark = [pytest.mark.rollcheck_check(category="latency"), pytest.mark.rollcheck_metric]


def test_p99_latency(metric_window: MetricWindow, rollcheck_settings: Settings, evidence: Evidence) -> None:
    settings, prom = rollcheck_settings, metric_window.prom
    query = prom.render(settings.p99_query, window_seconds=metric_window.seconds, selector=settings.selector)
    reading = prom.read(query)
    measured = evidence.record(
        reading.query, reading.value, settings.max_p99_latency, metric_window.seconds, at=reading.at
    )
    if reading.value is None:
        raise InsufficientData(f"no p99 latency: {reading.reason} (query: {reading.query})")
    # Plain locals in the assert: pytest's explanation then shows two numbers, not the settings' repr.
    p99, limit = reading.value, settings.max_p99_latency
    assert p99 <= limit, describe(measured, "p99 latency {value}s > max {threshold}s")
