"""Noise and faults put in place from outside a release: a scrape gap, a Prometheus restart, and finding out
when a delayed fault (DEMO_FAULT_AFTER_S) really began."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import yaml

from localenv_support import REPO_ROOT
from localenv_support import LocalEnv
from localenv_support import eventually

# Logged by the demo service at start when DEMO_FAULT_AFTER_S is set.
_FAULT_LINE = re.compile(r"faults take effect at unix time (\d+(?:\.\d+)?)")


def _reload_prometheus(localenv: LocalEnv) -> None:
    response = httpx.post(f"{localenv.prometheus_url}/-/reload", timeout=10, trust_env=False)
    response.raise_for_status()


def _scraped(localenv: LocalEnv, namespace: str, workload: str) -> bool:
    response = httpx.get(f"{localenv.prometheus_url}/api/v1/targets?state=active", timeout=5, trust_env=False)
    response.raise_for_status()
    return any(
        target["labels"].get("namespace") == namespace and target["labels"].get("workload") == workload
        for target in response.json()["data"]["activeTargets"]
    )


@contextmanager
def targets_dropped(localenv: LocalEnv, namespace: str, workload: str) -> Iterator[None]:
    """While inside, Prometheus does not scrape the workload's pods: a relabel rule drops exactly them, so the
    release keeps serving and only its metrics have a hole, as when a target briefly vanishes from discovery.

    The configuration file is restored (and reloaded) on the way out, whatever happened inside.
    """
    path = localenv.state_dir / "prometheus" / "prometheus.yml"
    original = path.read_text()
    config = yaml.safe_load(original)
    [pods_job] = [job for job in config["scrape_configs"] if job["job_name"] == "pods"]
    pods_job.setdefault("relabel_configs", []).append(
        {
            "source_labels": ["namespace", "workload"],
            "regex": f"{re.escape(namespace)};{re.escape(workload)}",
            "action": "drop",
        }
    )
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        _reload_prometheus(localenv)
        eventually(lambda: not _scraped(localenv, namespace, workload), timeout=10, what="the targets to be dropped")
        yield
    finally:
        path.write_text(original)
        _reload_prometheus(localenv)
    eventually(lambda: _scraped(localenv, namespace, workload), timeout=10, what="the targets to come back")


def restart_prometheus(down_for: float) -> None:
    """Stop Prometheus, keep it down `down_for` seconds, start it again (its data survives), wait until ready.

    Through `scripts/localenv restart`, which acts on the environment that ROLLCHECK_LOCALENV_DIR names, the
    same one the tests use.
    """
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "localenv"), "restart", "prometheus", f"--down-for={down_for:g}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"restarting Prometheus failed ({result.returncode}): {result.stderr[-2000:]}"


def delayed_fault_start(localenv: LocalEnv, namespace: str, workload: str) -> float | None:
    """The unix time at which the first of the workload's pods began to fail (DEMO_FAULT_AFTER_S), from the
    pods' logs; None when no pod logged one."""
    # A pod is named WORKLOAD-<template hash>-<5 characters>; a bare prefix would also match "WORKLOAD-34s-…".
    own = re.compile(rf"{re.escape(namespace)}_{re.escape(workload)}-[a-z0-9]+-[a-z0-9]{{5}}\.log")
    logs = [log for log in Path(localenv.state_dir / "agent" / "pods").iterdir() if own.fullmatch(log.name)]
    starts = [float(match) for log in logs for match in _FAULT_LINE.findall(log.read_text(errors="replace"))]
    return min(starts, default=None)


def wait_until(moment: float) -> None:
    """Sleep until the unix time `moment` (at once if it has passed)."""
    time.sleep(max(0.0, moment - time.time()))
