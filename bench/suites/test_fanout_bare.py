"""The bare-pytest twin of test_fanout_rollcheck.py, as a team would write it with httpx alone: one client for the
whole suite, the same two paths of every workload, up to five probes a second apart until one answers 2xx."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

WORKLOADS: list[dict[str, Any]] = json.loads(Path(os.environ["BENCH_FANOUT_WORKLOADS"]).read_text())
PATHS = ("/health", "/api/items")


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


@pytest.mark.parametrize("workload", WORKLOADS, ids=[workload["name"] for workload in WORKLOADS])
def test_workload_is_healthy(workload: dict[str, Any], http: httpx.Client) -> None:
    for path in PATHS:
        for attempt in range(5):
            if attempt:
                time.sleep(1)
            try:
                if http.get(workload["url"] + path).is_success:
                    break
            except httpx.TransportError:
                continue
        else:
            raise AssertionError(f"{workload['name']}: GET {path} never answered 2xx")
