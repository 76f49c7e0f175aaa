"""Reading pods and workloads: demo images, container specs, ownership and the port annotation."""

from __future__ import annotations

from typing import Any

import pytest

from rollcheck_localenv.kube_objects import LOAD_RATE_ANNOTATION
from rollcheck_localenv.kube_objects import PORT_ANNOTATION
from rollcheck_localenv.kube_objects import DemoContainer
from rollcheck_localenv.kube_objects import ObjectKey
from rollcheck_localenv.kube_objects import WorkloadRef
from rollcheck_localenv.kube_objects import demo_container
from rollcheck_localenv.kube_objects import demo_image_tag
from rollcheck_localenv.kube_objects import exposed_port
from rollcheck_localenv.kube_objects import load_rate
from rollcheck_localenv.kube_objects import owning_workload


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("rollcheck-demo:v1", "v1"),
        ("example.com/rollcheck-demo:v2", "v2"),
        ("localhost:5000/team/rollcheck-demo:2.0.1", "2.0.1"),
        ("rollcheck-demo", "latest"),
        ("rollcheck-demo:v3@sha256:0123", "v3"),
        ("nginx:1.27", None),
        ("rollcheck-demo-extra:v1", None),
        ("example.com/rollcheck-demo/other:v1", None),
    ],
)
def test_demo_image_tag(image: str, tag: str | None) -> None:
    assert demo_image_tag(image) == tag


def pod(*, owner: tuple[str, str] | None = None, **container: Any) -> dict[str, Any]:
    references = [{"kind": owner[0], "name": owner[1], "controller": True}] if owner else []
    return {
        "metadata": {"name": "shop-abc", "namespace": "prod", "ownerReferences": references},
        "spec": {"containers": [{"name": "app", "image": "rollcheck-demo:v4", **container}]},
    }


def test_demo_container_takes_plain_env_and_readiness_probe() -> None:
    spec = pod(
        env=[
            {"name": "DEMO_ERROR_RATE", "value": "0.5"},
            {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        ],
        readinessProbe={"httpGet": {"path": "/ready", "port": 8080}, "failureThreshold": 5},
    )

    assert demo_container(spec) == DemoContainer(
        name="app",
        image="rollcheck-demo:v4",
        tag="v4",
        env={"DEMO_ERROR_RATE": "0.5"},
        readiness_path="/ready",
        failure_threshold=5,
    )


def test_demo_container_defaults_and_other_images() -> None:
    container = demo_container(pod())

    assert container is not None
    assert (container.readiness_path, container.failure_threshold, dict(container.env)) == ("/health", 3, {})
    assert demo_container(pod(image="nginx:1.27")) is None


def test_owner_resolution_through_replica_set() -> None:
    replica_sets = {
        ObjectKey("prod", "shop-7d9f"): {
            "metadata": {
                "name": "shop-7d9f",
                "ownerReferences": [{"kind": "Deployment", "name": "shop", "controller": True}],
            }
        }
    }

    assert owning_workload(pod(owner=("ReplicaSet", "shop-7d9f")), replica_sets) == WorkloadRef(
        "prod", "Deployment", "shop"
    )
    assert owning_workload(pod(owner=("ReplicaSet", "not-cached-yet")), replica_sets) is None
    assert owning_workload(pod(owner=("StatefulSet", "db")), {}) == WorkloadRef("prod", "StatefulSet", "db")
    assert owning_workload(pod(owner=("DaemonSet", "agent")), {}) == WorkloadRef("prod", "DaemonSet", "agent")
    assert owning_workload(pod(owner=("Job", "migrate")), {}) is None
    assert owning_workload(pod(), {}) is None


def workload(annotations: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": "shop", "namespace": "prod", "annotations": annotations}}


def test_exposed_port_from_annotation() -> None:
    assert exposed_port(workload({PORT_ANNOTATION: "20001"})) == 20001
    assert exposed_port(workload({})) is None
    for unusable in ("0", "70000", "http", "-1"):
        with pytest.raises(ValueError, match=PORT_ANNOTATION):
            exposed_port(workload({PORT_ANNOTATION: unusable}))


def test_load_rate_from_annotation() -> None:
    assert load_rate(workload({LOAD_RATE_ANNOTATION: "0.5"})) == 0.5
    assert load_rate(workload({LOAD_RATE_ANNOTATION: "0"})) == 0.0
    assert load_rate(workload({})) is None
    for unusable in ("-1", "fast", "inf", "nan"):
        with pytest.raises(ValueError, match=LOAD_RATE_ANNOTATION):
            load_rate(workload({LOAD_RATE_ANNOTATION: unusable}))
