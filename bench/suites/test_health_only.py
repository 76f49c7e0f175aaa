"""One health probe with httpx: the bare-pytest twin of a health-only rollcheck run."""

from __future__ import annotations

import os

import httpx


def test_health() -> None:
    assert httpx.get(os.environ["BENCH_BASE_URL"] + "/health", timeout=5).is_success
