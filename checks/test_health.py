"""Every health endpoint of the release answers 2xx: one check per path in the settings' health paths."""

from __future__ import annotations

import httpx
import pytest

from rollcheck.measure import Evidence
from rollcheck.measure import probe_health
from rollcheck.plugins import settings_of
from rollcheck.settings import Settings

pytestmark = pytest.mark.rollcheck_check(category="health")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # The paths are known once the run's settings are resolved (at configure time), so the checks are
    # generated from them. Without a base URL nobody asked for health checks: a skip, not a failure. Without
    # rollcheck's settings at all, the default path is generated and the fixtures explain how to enable it.
    settings = settings_of(metafunc.config)
    not_asked = settings is not None and not settings.base_url
    marks = (pytest.mark.skip(reason="no base URL given (--base-url or --rollcheck-base-url)"),) if not_asked else ()
    paths = (settings or Settings()).health_paths
    metafunc.parametrize("health_path", [pytest.param(path, id=path, marks=marks) for path in paths])


def test_health(health_path: str, http: httpx.Client, rollcheck_settings: Settings, evidence: Evidence) -> None:
    settings = rollcheck_settings
    result = probe_health(
        http,
        health_path,
        attempts=settings.health_attempts,
        failures=settings.health_failures,
        interval=settings.health_interval,
    )
    status = result.probes[-1].status
    evidence.record(f"GET {health_path}", float(status) if status is not None else None)
    passed, message = result.passed, result.message
    assert passed, message
