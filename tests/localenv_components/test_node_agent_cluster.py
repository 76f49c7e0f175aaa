"""The node agent started by `scripts/localenv up`, observed through the real control plane.

Each test deploys into the module's throw-away namespace and watches what the agent does about it: pods
made Ready through pods/status, workloads served on their annotated port, crash loops, processes stopped on
deletion, and the files it publishes for Prometheus and the load generator.
"""

from __future__ import annotations

import copy
import json
import socket
from typing import Any

import httpx
import pytest
from component_helpers import pid_alive
from component_helpers import port_in_test_range
from kubernetes import client

from localenv_support import LocalEnv
from localenv_support import Releases
from localenv_support import demo_deployment
from localenv_support import eventually

pytestmark = pytest.mark.localenv


def agent_file(localenv: LocalEnv, name: str) -> Any:
    return json.loads((localenv.state_dir / "agent" / name).read_text())


def pods_of(kube_api: client.ApiClient, namespace: str, app: str) -> list[client.V1Pod]:
    return client.CoreV1Api(kube_api).list_namespaced_pod(namespace, label_selector=f"app={app}").items


def version_via(port: int) -> str | None:
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/version", timeout=2)
    except httpx.TransportError:
        return None
    return response.json()["version"] if response.status_code == 200 else None


def refuses_connections(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_node_is_registered_ready_and_untainted(kube_api: client.ApiClient) -> None:
    node = client.CoreV1Api(kube_api).read_node("localenv-node")

    assert node.metadata.labels["kubernetes.io/hostname"] == "localenv-node"
    assert node.metadata.labels["kubernetes.io/os"] == "linux"
    assert not node.spec.taints
    assert {c.type: c.status for c in node.status.conditions}["Ready"] == "True"


def test_annotated_deployment_becomes_available_and_is_served(
    kube_api: client.ApiClient, namespace: str, releases: Releases, localenv: LocalEnv
) -> None:
    port = port_in_test_range()
    releases.deploy("shop", "v1", replicas=2, port=port)

    releases.wait_rollout("shop", timeout=60)
    eventually(lambda: version_via(port) == "v1", timeout=30, what=f"v1 served on port {port}")

    pods = pods_of(kube_api, namespace, "shop")
    assert len(pods) == 2
    for pod in pods:
        container = pod.status.container_statuses[0]
        assert pod.status.phase == "Running"
        assert pod.status.pod_ip == pod.status.host_ip == "127.0.0.1"
        assert {c.type: c.status for c in pod.status.conditions}["Ready"] == "True"
        assert (container.ready, container.restart_count, container.state.running is not None) == (True, 0, True)
    exposed = {"namespace": namespace, "kind": "Deployment", "name": "shop", "port": port}
    eventually(lambda: exposed in agent_file(localenv, "workloads.json"), timeout=10, what="shop in workloads.json")


def test_scrape_targets_carry_pod_and_workload_labels(
    kube_api: client.ApiClient, namespace: str, releases: Releases, localenv: LocalEnv
) -> None:
    releases.deploy("labelled", "v4", replicas=1)
    releases.wait_rollout("labelled", timeout=60)
    pod = pods_of(kube_api, namespace, "labelled")[0]

    def target_of_pod() -> dict[str, Any] | None:
        groups = agent_file(localenv, "prometheus-targets.json")
        return next((g for g in groups if g["labels"].get("pod") == pod.metadata.name), None)

    group = eventually(target_of_pod, timeout=10, what="the pod's scrape target")
    assert group["labels"] == {
        "namespace": namespace,
        "pod": pod.metadata.name,
        "workload": "labelled",
        "workload_kind": "deployment",
        "version": "v4",
        "app": "labelled",
        "pod_template_hash": pod.metadata.labels["pod-template-hash"],
    }
    host, port = group["targets"][0].split(":")
    assert host == "127.0.0.1"
    assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 200


def test_prometheus_scrapes_the_pods_and_sees_load(namespace: str, releases: Releases, localenv: LocalEnv) -> None:
    releases.deploy("scraped", "v1", replicas=2, port=port_in_test_range())
    releases.wait_rollout("scraped", timeout=60)
    prometheus = f"{localenv.prometheus_url}/api/v1/query"
    selector = f'namespace="{namespace}",workload="scraped"'

    def result(query: str) -> list[dict[str, Any]]:
        return httpx.get(prometheus, params={"query": query}, timeout=5).json()["data"]["result"]

    eventually(lambda: len(result(f"up{{{selector}}} == 1")) == 2, timeout=60, what="both pods scraped and up")
    eventually(
        lambda: result(f'sum(http_requests_total{{{selector},path="/api/items"}}) > 0'),
        timeout=60,
        what="load generator traffic counted by Prometheus",
    )


def test_crashing_pod_restarts_with_back_off_and_never_becomes_ready(
    kube_api: client.ApiClient, namespace: str, releases: Releases
) -> None:
    releases.deploy("crashy", "v1", replicas=1, env={"DEMO_CRASH": "1"})

    def restarts() -> int:
        pods = pods_of(kube_api, namespace, "crashy")
        statuses = pods[0].status.container_statuses if pods else None
        return statuses[0].restart_count if statuses else 0

    eventually(lambda: restarts() >= 2, timeout=30, what="two restarts")
    seen = restarts()
    eventually(lambda: restarts() > seen, timeout=30, what="restarts to keep growing")

    pod = pods_of(kube_api, namespace, "crashy")[0]
    container = pod.status.container_statuses[0]
    assert {c.type: c.status for c in pod.status.conditions}["Ready"] == "False"
    assert not container.ready
    assert container.last_state.terminated.exit_code == 1
    assert container.state.running is not None or container.state.waiting.reason == "CrashLoopBackOff"


def test_deleting_the_deployment_stops_its_processes_and_proxy(
    kube_api: client.ApiClient, namespace: str, releases: Releases, localenv: LocalEnv
) -> None:
    port = port_in_test_range()
    releases.deploy("doomed", "v1", replicas=2, port=port)
    releases.wait_rollout("doomed", timeout=60)
    eventually(lambda: version_via(port) == "v1", timeout=30, what="the proxy to serve")

    def rows() -> list[dict[str, Any]]:
        table = agent_file(localenv, "pods.json")
        return [r for r in table if r["namespace"] == namespace and r["pod"].startswith("doomed-")]

    pids = [row["pid"] for row in eventually(lambda: [r for r in rows() if r["pid"]] or None, timeout=10, what="pids")]
    assert len(pids) == 2
    assert all(pid_alive(pid) for pid in pids)

    client.AppsV1Api(kube_api).delete_namespaced_deployment("doomed", namespace)

    eventually(lambda: not any(pid_alive(pid) for pid in pids), timeout=30, what=f"processes {pids} to stop")
    eventually(lambda: not rows(), timeout=10, what="pods.json to forget the pods")
    eventually(lambda: refuses_connections(port), timeout=10, what=f"port {port} to be released")
    workloads = agent_file(localenv, "workloads.json")
    assert not [w for w in workloads if w["namespace"] == namespace and w["name"] == "doomed"]


def test_other_images_stay_pending_with_err_image_never_pull(kube_api: client.ApiClient, namespace: str) -> None:
    manifest = demo_deployment("foreign", "v1", replicas=1)
    manifest["spec"]["template"]["spec"]["containers"][0]["image"] = "docker.io/library/nginx:1.27"
    client.AppsV1Api(kube_api).create_namespaced_deployment(namespace, manifest)

    def waiting_reason() -> str | None:
        pods = pods_of(kube_api, namespace, "foreign")
        statuses = pods[0].status.container_statuses if pods else None
        return statuses[0].state.waiting.reason if statuses and statuses[0].state.waiting else None

    assert eventually(waiting_reason, timeout=30, what="a waiting reason") == "ErrImageNeverPull"
    assert pods_of(kube_api, namespace, "foreign")[0].status.phase == "Pending"


def workload_manifest(kind: str, name: str, version: str, port: int) -> dict[str, Any]:
    """A StatefulSet or DaemonSet with the same pod template as the demo Deployment."""
    deployment = demo_deployment(name, version, port=port)
    spec: dict[str, Any] = {"selector": deployment["spec"]["selector"], "template": deployment["spec"]["template"]}
    if kind == "StatefulSet":
        spec.update(serviceName=name, replicas=2)
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": copy.deepcopy(deployment["metadata"]), "spec": spec}


def test_statefulset_pods_become_ready_in_order_and_are_served(
    kube_api: client.ApiClient, namespace: str, localenv: LocalEnv
) -> None:
    port = port_in_test_range()
    apps = client.AppsV1Api(kube_api)
    apps.create_namespaced_stateful_set(namespace, workload_manifest("StatefulSet", "db", "v2", port))

    eventually(
        lambda: apps.read_namespaced_stateful_set("db", namespace).status.ready_replicas == 2,
        timeout=60,
        what="both StatefulSet pods Ready",
    )
    eventually(lambda: version_via(port) == "v2", timeout=30, what=f"v2 served on port {port}")
    kinds = {
        g["labels"].get("workload_kind")
        for g in agent_file(localenv, "prometheus-targets.json")
        if g["labels"]["namespace"] == namespace and g["labels"].get("workload") == "db"
    }
    assert kinds == {"statefulset"}


def test_daemonset_gets_a_pod_on_the_node_and_is_served(kube_api: client.ApiClient, namespace: str) -> None:
    port = port_in_test_range()
    apps = client.AppsV1Api(kube_api)
    apps.create_namespaced_daemon_set(namespace, workload_manifest("DaemonSet", "sidecar", "v3", port))

    eventually(
        lambda: apps.read_namespaced_daemon_set("sidecar", namespace).status.number_ready == 1,
        timeout=60,
        what="the DaemonSet pod Ready",
    )
    eventually(lambda: version_via(port) == "v3", timeout=30, what=f"v3 served on port {port}")
