"""The Kubernetes boundary against the real local control plane: raw helpers, the release, rollout status."""

from __future__ import annotations

import datetime
import gc
import subprocess
import uuid
from pathlib import Path

import pytest
from kubernetes import client

from localenv_support import REPO_ROOT
from localenv_support import Releases
from localenv_support import eventually
from rollcheck import Forbidden
from rollcheck import NotFound
from rollcheck.kube import JSON_PATCH
from rollcheck.kube import MERGE_PATCH
from rollcheck.kube import Kube
from rollcheck.kube import UnsupportedKind
from rollcheck.kube import connect
from rollcheck.kube import pods_restarting
from rollcheck.kube import read_release
from rollcheck.kube import wait_for_rollout
from rollcheck.target import TargetRef

HEALTH_FAIL = {"DEMO_HEALTH_FAIL": "1"}


def deployment(name: str) -> TargetRef:
    return TargetRef.parse(f"deployment/{name}")


def test_a_ping_is_answered_by_the_api_server(rollcheck_kube: Kube) -> None:
    rollcheck_kube.ping()  # raises rollcheck's error if the API server did not answer 2xx with JSON


def test_decoding_leaves_the_garbage_collector_as_it_was(releases: Releases, rollcheck_kube: Kube) -> None:
    # Answers are decoded with the cyclic collector paused: it must come back on, and only if it was on.
    assert gc.isenabled()
    rollcheck_kube.list_raw("replicaset", releases.namespace)
    assert gc.isenabled()
    gc.disable()
    try:
        rollcheck_kube.list_raw("replicaset", releases.namespace)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_list_follows_continue_tokens(releases: Releases, rollcheck_kube: Kube) -> None:
    for name in ("page-a", "page-b", "page-c"):
        releases.deploy(name, "v1", replicas=1)

    items, version = rollcheck_kube.list_versioned(
        "deployment", releases.namespace, "app in (page-a,page-b,page-c)", limit=1
    )

    assert sorted(d["metadata"]["name"] for d in items) == ["page-a", "page-b", "page-c"]
    assert version.isdigit()


def test_get_and_patch_raw_keep_every_field(releases: Releases, rollcheck_kube: Kube) -> None:
    releases.deploy("raw", "v1", replicas=1)
    namespace = releases.namespace

    dry = rollcheck_kube.patch_raw(
        "deployment",
        "raw",
        namespace,
        [{"op": "replace", "path": "/spec/replicas", "value": 2}],
        JSON_PATCH,
        dry_run=True,
    )
    stored = rollcheck_kube.get_raw("deployment", "raw", namespace)
    merged = rollcheck_kube.patch_raw("deployment", "raw", namespace, {"metadata": {"labels": {"x": "y"}}}, MERGE_PATCH)

    assert dry["spec"]["replicas"] == 2
    assert stored["spec"]["replicas"] == 1
    assert merged["metadata"]["labels"] == {"app": "raw", "x": "y"}
    # Raw JSON: server-side fields the typed models would rename or drop are all there, as the server wrote them.
    assert stored["spec"]["template"]["spec"]["containers"][0]["terminationMessagePolicy"] == "File"
    assert "managedFields" in stored["metadata"]


def test_errors_are_translated(releases: Releases, rollcheck_kube: Kube) -> None:
    with pytest.raises(NotFound) as missing:
        rollcheck_kube.get_raw("deployment", "absent", releases.namespace)

    assert str(missing.value) == (
        f'get deployment {releases.namespace}/absent: 404 Not Found: deployments.apps "absent" not found'
    )


def test_read_release_of_a_completed_rollout(releases: Releases, rollcheck_kube: Kube) -> None:
    releases.deploy("shop", "v1", replicas=2)
    releases.wait_rollout("shop")
    releases.set_release("shop", "v2")
    releases.wait_rollout("shop")
    before = datetime.datetime.now(datetime.UTC)

    release = read_release(rollcheck_kube, deployment("shop"), releases.namespace)

    raw = rollcheck_kube.get_raw("deployment", "shop", releases.namespace)
    hashes = {
        rs["metadata"]["labels"]["pod-template-hash"]: rs["metadata"]["annotations"][
            "deployment.kubernetes.io/revision"
        ]
        for rs in rollcheck_kube.list_raw("replicaset", releases.namespace, "app=shop")
    }
    assert (release.revision, release.images, release.version) == (2, ("rollcheck-demo:v2",), "v2")
    assert (release.uid, release.generation) == (raw["metadata"]["uid"], raw["metadata"]["generation"])
    assert hashes[release.template_hash] == "2"
    assert release.rollout_completed_at is not None
    assert before - datetime.timedelta(minutes=2) < release.rollout_completed_at <= before


def test_an_incomplete_rollout_has_no_completion_time(releases: Releases, rollcheck_kube: Kube) -> None:
    releases.deploy("stuck", "v1", replicas=1, env=HEALTH_FAIL)

    release = read_release(rollcheck_kube, deployment("stuck"), releases.namespace)

    assert release.rollout_completed_at is None
    assert release.version == "v1"


def test_a_helm_release_is_not_the_workload_readers(releases: Releases, rollcheck_kube: Kube) -> None:
    # A Helm release is many workloads at one helm revision: the plain reader refuses it and says where to go.
    expected = "helm/shop is not one workload, so the Kubernetes reader cannot read it; a Helm release is read "
    with pytest.raises(UnsupportedKind, match=expected + r"through helm \(rollcheck.helm.read_target_release\)"):
        read_release(rollcheck_kube, TargetRef.parse("helm/shop"), releases.namespace)


def test_wait_for_rollout_done(releases: Releases, rollcheck_kube: Kube) -> None:
    releases.deploy("waited", "v1", replicas=2)

    status = wait_for_rollout(rollcheck_kube, deployment("waited"), releases.namespace, timeout=60)

    assert (status.done, status.failed) == (True, False)
    assert status.message == 'deployment "waited" successfully rolled out'
    assert releases.rollout_complete("waited")


def test_wait_for_rollout_spans_several_watches(
    releases: Releases, rollcheck_kube: Kube, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each watch lasts one second, so the rollout below completes only after the first watches have ended.
    monkeypatch.setattr("rollcheck.kube._status._MAX_WATCH_SECONDS", 1)
    releases.deploy("rewatched", "v1", replicas=1, env=HEALTH_FAIL)
    apps = releases.apps

    eventually(
        lambda: apps.read_namespaced_deployment("rewatched", releases.namespace).status.replicas,
        timeout=30,
        what="pods",
    )
    releases.set_release("rewatched", "v2", env={"DEMO_HEALTH_FAIL": "0"})
    status = wait_for_rollout(rollcheck_kube, deployment("rewatched"), releases.namespace, timeout=60)

    assert status.done, status.message


def test_progress_deadline_exceeded_is_a_failure(releases: Releases, rollcheck_kube: Kube) -> None:
    releases.deploy("deadline", "v1", replicas=1, env=HEALTH_FAIL, progress_deadline=3)

    status = wait_for_rollout(rollcheck_kube, deployment("deadline"), releases.namespace, timeout=60)

    assert (status.done, status.failed) == (False, True)
    assert status.message == 'deployment "deadline" exceeded its progress deadline'


def test_a_timeout_returns_not_done(releases: Releases, rollcheck_kube: Kube) -> None:
    releases.deploy("slow", "v1", replicas=1, env=HEALTH_FAIL, progress_deadline=600)

    status = wait_for_rollout(rollcheck_kube, deployment("slow"), releases.namespace, timeout=2)

    assert (status.done, status.failed) == (False, False)
    assert status.message.startswith("timed out after 2s: ")


def test_waiting_for_a_missing_deployment_fails(releases: Releases, rollcheck_kube: Kube) -> None:
    status = wait_for_rollout(rollcheck_kube, deployment("never"), releases.namespace, timeout=5)

    assert status.failed
    assert "not found" in status.message


def test_pods_restarting_finds_a_crash_loop(releases: Releases, rollcheck_kube: Kube) -> None:
    releases.deploy("crashy", "v1", replicas=1, env={"DEMO_CRASH": "1"})
    releases.deploy("steady", "v1", replicas=1)
    releases.wait_rollout("steady")

    crashing = eventually(
        lambda: pods_restarting(
            rollcheck_kube,
            releases.namespace,
            read_release(rollcheck_kube, deployment("crashy"), releases.namespace).template_hash,
        ),
        timeout=60,
        what="a restarting pod",
    )
    steady = read_release(rollcheck_kube, deployment("steady"), releases.namespace)

    assert crashing[0].container == "app"
    assert crashing[0].pod.startswith("crashy-")
    assert crashing[0].restarts > 0 or crashing[0].reason == "CrashLoopBackOff"
    assert pods_restarting(rollcheck_kube, releases.namespace, steady.template_hash) == []
    assert pods_restarting(rollcheck_kube, releases.namespace, None) == []


def test_a_restricted_identity_gets_forbidden_with_the_verb(releases: Releases, kube_api: client.ApiClient) -> None:
    releases.deploy("guarded", "v1", replicas=1)
    user = f"viewer-{uuid.uuid4().hex[:6]}"
    path = Path(
        subprocess.run(
            [str(REPO_ROOT / "scripts" / "localenv"), "identity", user], capture_output=True, text=True, check=True
        ).stdout.strip()
    )

    with connect(kubeconfig=path, context=None) as restricted, pytest.raises(Forbidden) as denied:
        restricted.get_raw("deployment", "guarded", releases.namespace)

    assert str(denied.value).startswith(f"get deployment {releases.namespace}/guarded: 403 Forbidden: ")
    assert f'User "{user}" cannot get resource "deployments"' in str(denied.value)
    assert "\n" not in str(denied.value)
