"""One health check per workload, for a release that spans many workloads, written with rollcheck's helpers: the
run's settings (timeout, TLS, retries) give each workload its own client, and `probe_health` applies the run's
probe rule to each path. The workloads come from the file BENCH_FANOUT_WORKLOADS names (name and URL each)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from rollcheck.measure import Evidence
from rollcheck.measure import http_client
from rollcheck.measure import probe_health
from rollcheck.settings import Settings

WORKLOADS: list[dict[str, Any]] = json.loads(Path(os.environ["BENCH_FANOUT_WORKLOADS"]).read_text())
#: The liveness endpoint and one API call: a workload that is up but cannot answer its API is not healthy.
PATHS = ("/health", "/api/items")


@pytest.mark.rollcheck_check(category="health", severity="critical")
@pytest.mark.parametrize("workload", WORKLOADS, ids=[workload["name"] for workload in WORKLOADS])
def test_workload_is_healthy(workload: dict[str, Any], rollcheck_settings: Settings, evidence: Evidence) -> None:
    settings = dataclasses.replace(rollcheck_settings, base_url=workload["url"])
    with http_client(settings) as http:
        for path in PATHS:
            result = probe_health(
                http,
                path,
                attempts=settings.health_attempts,
                failures=settings.health_failures,
                interval=settings.health_interval,
            )
            status = result.probes[-1].status
            evidence.record(f"{workload['name']}: GET {path}", float(status) if status is not None else None)
            assert result.passed, result.message
