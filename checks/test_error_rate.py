"""The release's share of 5xx answers over the metric window stays within --max-error-rate."""

from __future__ import annotations

import pytest

from rollcheck import InsufficientData
from rollcheck.measure import Evidence
from rollcheck.measure import MetricWindow
from rollcheck.measure import describe
from rollcheck.settings import Settings

# A metric check: with --watch it is repeated every interval, measuring over the last interval.
pytestmark = [pytest.mark.rollcheck_check(category="error_rate"), pytest.mark.rollcheck_metric]


def test_error_rate(metric_window: MetricWindow, rollcheck_settings: Settings, evidence: Evidence) -> None:
    settings, prom, window = rollcheck_settings, metric_window.prom, metric_window.seconds
    reading = prom.read(prom.render(settings.error_rate_query, window_seconds=window, selector=settings.selector))
    measured = evidence.record(reading.query, reading.value, settings.max_error_rate, window, at=reading.at)
    if reading.value is None:
        # Requests were counted, so an empty answer usually means the 5xx part matched no series: a counter
        # labelled by status code has no 5xx series until the first 5xx. Say how to write the query for that.
        hint = (
            "; a release that never answered 5xx has no 5xx series, so write the numerator as `(sum(...) or vector(0))`"
            if not reading.found
            else ""
        )
        raise InsufficientData(f"no error rate: {reading.reason}{hint} (query: {reading.query})")
    # Plain locals in the assert: pytest's explanation then shows two numbers, not the settings' repr.
    rate, limit = reading.value, settings.max_error_rate
    assert rate <= limit, describe(measured, "error rate {value} > max {threshold}")
