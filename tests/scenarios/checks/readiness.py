"""A check the corpus adds to the built-in ones: the share of the release's readiness probes that failed.

The built-in health check probes once, in the first pass, so a release whose /health flaps afterwards passes it
on one lucky sample. Marked `rollcheck_metric`, this check is measured again in every round of the watch, from
the probes' own results in Prometheus (the demo service counts GET /health like any request).

It is copied into each run's directory as test_readiness.py: run from here, pytest would also load the
repository's test conftest files, which need the test environment.
"""

from __future__ import annotations

import pytest

from rollcheck import InsufficientData
from rollcheck.measure import Evidence
from rollcheck.measure import MetricWindow
from rollcheck.measure import describe
from rollcheck.settings import Settings

PROBES = 'sum(increase(http_requests_total{{{selector},path="/health"}}[{window}]))'
FAILED_SHARE = (
    '(sum(increase(http_requests_total{{{selector},path="/health",code=~"5.."}}[{window}])) or vector(0))'
    f" / {PROBES}"
)
MAX_FAILED_SHARE = 0.1

pytestmark = [
    pytest.mark.rollcheck_check(category="health"),
    pytest.mark.rollcheck_metric,
    # The evidence here is probes, not user traffic: while no pod is Ready, no user request reaches the release.
    pytest.mark.rollcheck_settings(requests_query=PROBES),
]


def test_readiness_probes(metric_window: MetricWindow, rollcheck_settings: Settings, evidence: Evidence) -> None:
    prom, window = metric_window.prom, metric_window.seconds
    reading = prom.read(prom.render(FAILED_SHARE, window_seconds=window, selector=rollcheck_settings.selector))
    measured = evidence.record(reading.query, reading.value, MAX_FAILED_SHARE, window, at=reading.at)
    if reading.value is None:
        raise InsufficientData(f"no readiness probe results: {reading.reason} (query: {reading.query})")
    share, limit = reading.value, MAX_FAILED_SHARE
    assert share <= limit, describe(measured, "{value} of the readiness probes failed, more than {threshold}")
