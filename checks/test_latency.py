"""The release's 99th percentile latency over the metric window stays within --max-p99-latency."""

from __future__ import annotations

import pytest

from rollcheck import InsufficientData
from rollcheck.measure import Evidence
from rollcheck.measure import Prom
from rollcheck.measure import describe
from rollcheck.measure import require_requests
from rollcheck.measure import wait_for_window
from rollcheck.settings import Settings
from rollcheck.target import Release

pytestmark = pytest.mark.rollcheck_check(category="latency")


def test_p99_latency(rollcheck_settings: Settings, evidence: Evidence, request: pytest.FixtureRequest) -> None:
    settings = rollcheck_settings
    if not settings.prometheus_url:
        pytest.skip("no --prometheus-url given")
    # Asked for only now: a run without Prometheus must skip here, before these connect to anything.
    prom: Prom = request.getfixturevalue("prom")
    release: Release = request.getfixturevalue("release")
    window = wait_for_window(
        release, settings.window, deadline_seconds=settings.check_timeout - 3 * prom.max_query_seconds
    )
    require_requests(prom, settings, window, evidence)
    reading = prom.read(prom.render(settings.p99_query, window_seconds=window, selector=settings.selector))
    measured = evidence.record(reading.query, reading.value, settings.max_p99_latency, window, at=reading.at)
    if reading.value is None:
        raise InsufficientData(f"no p99 latency: {reading.reason} (query: {reading.query})")
    # Plain locals in the assert: pytest's explanation then shows two numbers, not the settings' repr.
    p99, limit = reading.value, settings.max_p99_latency
    assert p99 <= limit, describe(measured, "p99 latency {value}s > max {threshold}s")
