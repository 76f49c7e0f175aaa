"""Helpers for the `rollcheck serve` tests: Alertmanager and Flagger payloads, posting, and cluster reads."""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path
from typing import Any

import httpx

from localenv_support import Releases

TOKEN = "serve-test-token-" + uuid.uuid4().hex
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def alert(
    labels: dict[str, str],
    *,
    status: str = "firing",
    starts_at: datetime.datetime | None = None,
    fingerprint: str | None = None,
) -> dict[str, Any]:
    """One alert as Alertmanager's version 4 webhook writes it (Go's nanosecond times, `Z`)."""
    start = starts_at or datetime.datetime.now(datetime.UTC)
    return {
        "status": status,
        "labels": {"alertname": "HighErrorRate", "severity": "page", **labels},
        "annotations": {"summary": "5xx above 10%"},
        "startsAt": start.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://127.0.0.1:19090/graph",
        "fingerprint": fingerprint or uuid.uuid4().hex[:16],
    }


def post(url: str, body: object, *, headers: dict[str, str] | None = None, timeout: float = 10) -> httpx.Response:
    return httpx.post(f"{url}/alertmanager", json=body, headers=AUTH if headers is None else headers, timeout=timeout)


def revision(releases: Releases, name: str) -> str:
    deployment = releases.apps.read_namespaced_deployment(name, releases.namespace)
    return str(deployment.metadata.annotations["deployment.kubernetes.io/revision"])


def image(releases: Releases, name: str) -> str:
    deployment = releases.apps.read_namespaced_deployment(name, releases.namespace)
    return str(deployment.spec.template.spec.containers[0].image)


def metric(url: str, sample: str) -> float:
    """The value of one sample line of /metrics (`name{labels}`); 0 when the series has not appeared yet."""
    for line in httpx.get(f"{url}/metrics", timeout=5).text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def inconclusive_suite(directory: Path) -> Path:
    """A suite whose one gating check cannot measure: `rollcheck run` says inconclusive, no verdict."""
    directory.mkdir()
    (directory / "test_unmeasurable.py").write_text(
        "import pytest\n\nimport rollcheck\n\n\n"
        "@pytest.mark.rollcheck_check(category='custom', severity='critical')\n"
        "def test_error_budget():\n"
        "    raise rollcheck.InsufficientData('no samples for the error budget yet')\n"
    )
    return directory
