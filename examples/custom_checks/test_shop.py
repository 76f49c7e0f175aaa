"""A team's own checks, written with rollcheck's fixtures: run them with `rollcheck run … examples/custom_checks`.

They run beside the built-in checks (rollout, health, error rate, p99) and are judged the same way.
"""

from __future__ import annotations

import httpx
import pytest

from rollcheck.measure import Evidence
from rollcheck.target import Release


@pytest.mark.rollcheck_check(category="custom", severity="critical")
def test_an_order_can_be_placed(http: httpx.Client, release: Release) -> None:
    response = http.post("/api/orders", json={"item": "book", "quantity": 1})
    assert response.status_code == 201, f"{release.version}: POST /api/orders answered {response.status_code}"


@pytest.mark.rollcheck_advisory(severity="warning", category="latency")
def test_item_listing_is_quick(http: httpx.Client, evidence: Evidence) -> None:
    response = http.get("/api/items")
    seconds = response.elapsed.total_seconds()
    evidence.record("GET /api/items", seconds, threshold=0.25)
    assert seconds <= 0.25, f"GET /api/items took {seconds:.3f}s (advisory limit 0.25s)"
