"""The baseline check on the local environment: a Deployment mid-rollout, its v1 pods and one v2 pod serving
side by side (the new pod is held unavailable by minReadySeconds, so the old ones stay), traffic from the load
generator, the real Prometheus, and the built-in checks run by pytest with `--baseline previous-pods`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

import rollcheck.checks
from localenv_support import LocalEnv
from localenv_support import Releases
from localenv_support import demo_deployment
from localenv_support import eventually
from localenv_support import free_port

WINDOW_S = 60
CHECKS_DIR = Path(rollcheck.checks.__file__).parent


def _start_canary(releases: Releases, name: str, *, v1_error_rate: str, v2_error_rate: str) -> None:
    manifest = demo_deployment(name, "v1", replicas=2, port=free_port(), env={"DEMO_ERROR_RATE": v1_error_rate})
    manifest["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    releases.apps.create_namespaced_deployment(releases.namespace, manifest)
    releases.wait_rollout(name)
    # v2's pod becomes Ready (and gets traffic) but not available for 10 minutes: the rollout holds there.
    releases.apps.patch_namespaced_deployment(
        name, releases.namespace, {"spec": {"minReadySeconds": 600, "progressDeadlineSeconds": 1200}}
    )
    releases.set_release(name, "v2", env={"DEMO_ERROR_RATE": v2_error_rate})


def _all_ready(releases: Releases, name: str) -> bool:
    status = releases.apps.read_namespaced_deployment(name, releases.namespace).status
    return (status.ready_replicas or 0) == 3 and (status.updated_replicas or 0) == 1


@pytest.fixture(scope="module")
def canaries(kube_api: Any, namespace: str, localenv: LocalEnv) -> Releases:
    """Two canaries, started together so they share one wait: v2 answering 5xx, and v2 as good as v1."""
    from kubernetes import client

    releases = Releases(kube_api, namespace, localenv)
    _start_canary(releases, "worse", v1_error_rate="0", v2_error_rate="0.5")
    _start_canary(releases, "same", v1_error_rate="0", v2_error_rate="0")
    for name in ("worse", "same"):
        eventually(lambda name=name: _all_ready(releases, name), timeout=60, what=f"v1 and v2 pods of {name} Ready")
    assert client.AppsV1Api(kube_api).list_namespaced_replica_set(namespace).items  # both revisions exist
    time.sleep(WINDOW_S + 5)  # a whole window of samples from the v2 pod
    return releases


def _run(pytester: pytest.Pytester, localenv: LocalEnv, releases: Releases, name: str) -> dict[str, Any]:
    ini = pytester.makeini("[pytest]\n")
    result = pytester.runpytest_subprocess(
        "-c", str(ini), "--rootdir", str(pytester.path),
        "-k", "error_rate_vs_baseline",
        f"--rollcheck-target=deployment/{name}",
        f"--rollcheck-namespace={releases.namespace}",
        f"--rollcheck-kubeconfig={localenv.kubeconfig}",
        f"--rollcheck-prometheus-url={localenv.prometheus_url}",
        "--rollcheck-baseline=previous-pods",
        f"--rollcheck-window={WINDOW_S}s",
        "--rollcheck-rollout-timeout=1s",  # the rollout is held on purpose: do not wait for it
        "--rollcheck-no-rollback",
        str(CHECKS_DIR),
        timeout=240,
    )  # fmt: skip
    report: dict[str, Any] = json.loads((pytester.path / "rollcheck-report" / "report.json").read_text())
    [check] = [c for c in report["checks"] if c["id"].endswith("::test_error_rate_vs_baseline")]
    check["stdout"] = result.stdout.str()
    return check


def test_v2_answering_5xx_fails_against_the_previous_pods(
    pytester: pytest.Pytester, localenv: LocalEnv, canaries: Releases
) -> None:
    check = _run(pytester, localenv, canaries, "worse")
    assert check["outcome"] == "failed", check["stdout"]
    assert check["attempts"] == 2, "reproduced on the default re-run before it counts"
    baseline_side, release_side = check["measurements"][-2:]  # the re-run's pair
    comparison = release_side["comparison"]
    assert comparison["outcome"] == "failed"
    assert comparison["p_value"] < 0.05
    assert comparison["canary"]["n"] >= 5
    assert comparison["baseline"]["n"] >= 5
    assert 0.3 <= comparison["canary"]["median"] <= 0.7
    assert comparison["baseline"]["max"] == 0
    assert comparison["statistic"] == comparison["canary"]["n"] * comparison["baseline"]["n"]
    assert 'pod=~"worse-' in baseline_side["query"]
    assert baseline_side["query"] != release_side["query"]
    assert "Mann-Whitney U=" in check["message"]
    assert "(one-sided, increase)" in check["message"]


def test_v2_as_good_as_v1_passes_against_the_previous_pods(
    pytester: pytest.Pytester, localenv: LocalEnv, canaries: Releases
) -> None:
    check = _run(pytester, localenv, canaries, "same")
    assert check["outcome"] == "passed", check["stdout"]
    comparison = check["measurements"][-1]["comparison"]
    assert comparison["outcome"] == "passed"
    assert comparison["p_value"] >= 0.05
    assert comparison["canary"]["n"] >= 5
    assert comparison["baseline"]["n"] >= 5
