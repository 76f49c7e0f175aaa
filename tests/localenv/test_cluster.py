"""The local control plane runs the real controllers: rollouts, revisions and `kubectl rollout undo`."""

from __future__ import annotations

import time

from kubernetes import client

from localenv_support import LocalEnv
from localenv_support import Releases
from localenv_support import eventually

REVISION = "deployment.kubernetes.io/revision"


def _replica_sets(api: client.ApiClient, namespace: str, app: str) -> dict[str, client.V1ReplicaSet]:
    sets = client.AppsV1Api(api).list_namespaced_replica_set(namespace, label_selector=f"app={app}").items
    return {rs.metadata.annotations[REVISION]: rs for rs in sets}


def test_three_replicas_become_ready_within_30s(releases: Releases) -> None:
    started = time.monotonic()
    releases.deploy("ready", "v1", replicas=3)
    releases.wait_rollout("ready", timeout=30)
    deployment = releases.apps.read_namespaced_deployment("ready", releases.namespace)
    assert deployment.status.ready_replicas == 3
    assert time.monotonic() - started < 30


def test_new_image_makes_revision_2_and_kubectl_undo_restores_v1_as_revision_3(
    releases: Releases, kube_api: client.ApiClient, localenv: LocalEnv
) -> None:
    releases.deploy("undo", "v1", replicas=2)
    releases.wait_rollout("undo")
    releases.set_release("undo", "v2")
    releases.wait_rollout("undo")
    by_revision = _replica_sets(kube_api, releases.namespace, "undo")
    assert by_revision["2"].spec.template.spec.containers[0].image == "rollcheck-demo:v2"

    localenv.run_kubectl("rollout", "undo", "deployment/undo", "-n", releases.namespace)
    releases.wait_rollout("undo")

    by_revision = _replica_sets(kube_api, releases.namespace, "undo")
    assert sorted(by_revision) == ["2", "3"], "the v1 ReplicaSet is reused and renumbered, not recreated"
    assert by_revision["3"].spec.template.spec.containers[0].image == "rollcheck-demo:v1"
    deployment = releases.apps.read_namespaced_deployment("undo", releases.namespace)
    assert deployment.metadata.annotations[REVISION] == "3"
    assert deployment.spec.template.spec.containers[0].image == "rollcheck-demo:v1"


def test_pods_serve_the_version_of_their_image(releases: Releases, localenv: LocalEnv) -> None:
    import httpx

    from localenv_support import free_port

    port = free_port()
    releases.deploy("served", "v7", replicas=2, port=port)
    releases.wait_rollout("served")

    def version() -> str | None:
        try:
            return str(httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()["version"])
        except (httpx.HTTPError, ValueError, KeyError):
            return None

    assert eventually(version, timeout=20, what="the workload port to answer") == "v7"
