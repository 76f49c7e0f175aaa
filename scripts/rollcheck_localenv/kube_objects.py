"""How the node agent reads Kubernetes objects: keys, workload ownership, demo images and container specs.

Objects are the raw JSON dicts the API server sends (not the client's typed models), so nothing the client
version does not know about is lost and tests can build objects as plain dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

PORT_ANNOTATION = "localenv.rollcheck.dev/port"
LOAD_RATE_ANNOTATION = "localenv.rollcheck.dev/load-rate"
"""Requests a second the load generator sends to the workload, instead of its default rate."""
DEMO_IMAGE_NAME = "rollcheck-demo"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
DEFAULT_READINESS_PATH = "/health"
DEFAULT_FAILURE_THRESHOLD = 3

KubeObject = dict[str, Any]


@dataclass(frozen=True, order=True)
class ObjectKey:
    """Namespace and name: what identifies a namespaced object."""

    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ObjectKey:
        metadata = obj["metadata"]
        return cls(metadata.get("namespace", ""), metadata["name"])

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, order=True)
class WorkloadRef:
    """A Deployment, StatefulSet or DaemonSet, the unit that gets exposed on a port."""

    namespace: str
    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind.lower()} {self.namespace}/{self.name}"


@dataclass(frozen=True, kw_only=True)
class DemoContainer:
    """What the agent needs from a pod's first container to run it as a demo service process."""

    name: str
    image: str
    tag: str
    env: Mapping[str, str] = field(default_factory=dict)
    readiness_path: str = DEFAULT_READINESS_PATH
    failure_threshold: int = DEFAULT_FAILURE_THRESHOLD


def demo_image_tag(image: str) -> str | None:
    """The tag of a ``rollcheck-demo`` image under any registry prefix, or None for every other image."""
    reference = image.partition("@")[0]
    repository, _, tag = reference.rpartition("/")[2].partition(":")
    if repository != DEMO_IMAGE_NAME:
        return None
    return tag or "latest"


def first_container(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    """The pod's first container: the only one the local environment runs."""
    containers: list[Mapping[str, Any]] = pod["spec"]["containers"]
    return containers[0]


def demo_container(pod: Mapping[str, Any]) -> DemoContainer | None:
    """The pod's first container as a demo service to run, or None when its image is not rollcheck-demo."""
    container = first_container(pod)
    tag = demo_image_tag(container.get("image", ""))
    if tag is None:
        return None
    # valueFrom needs Secrets, ConfigMaps and the downward API; the demo knobs are always plain values.
    env = {item["name"]: item["value"] for item in container.get("env") or [] if "value" in item}
    probe = container.get("readinessProbe") or {}
    return DemoContainer(
        name=container["name"],
        image=container["image"],
        tag=tag,
        env=env,
        readiness_path=(probe.get("httpGet") or {}).get("path") or DEFAULT_READINESS_PATH,
        failure_threshold=int(probe.get("failureThreshold") or DEFAULT_FAILURE_THRESHOLD),
    )


def is_terminating(obj: Mapping[str, Any]) -> bool:
    """Whether deletion of the object has begun."""
    return bool(obj["metadata"].get("deletionTimestamp"))


def controller_of(obj: Mapping[str, Any]) -> tuple[str, str] | None:
    """Kind and name of the object's controlling owner, if it has one."""
    for owner in obj["metadata"].get("ownerReferences") or []:
        if owner.get("controller"):
            return owner["kind"], owner["name"]
    return None


def owning_workload(pod: Mapping[str, Any], replica_sets: Mapping[ObjectKey, KubeObject]) -> WorkloadRef | None:
    """The Deployment, StatefulSet or DaemonSet a pod belongs to; None when unknown (yet) or owned by none."""
    namespace = pod["metadata"].get("namespace", "")
    owner = controller_of(pod)
    if owner is None:
        return None
    kind, name = owner
    if kind == "ReplicaSet":
        replica_set = replica_sets.get(ObjectKey(namespace, name))
        deployment = controller_of(replica_set) if replica_set is not None else None
        if deployment is None or deployment[0] != "Deployment":
            return None
        kind, name = deployment
    if kind not in WORKLOAD_KINDS:
        return None
    return WorkloadRef(namespace, kind, name)


def exposed_port(workload: Mapping[str, Any]) -> int | None:
    """The port the workload's annotation asks it to be exposed on, None without the annotation.

    Raises ValueError, naming the annotation and value, when the value is not a TCP port.
    """
    raw = (workload["metadata"].get("annotations") or {}).get(PORT_ANNOTATION)
    if raw is None:
        return None
    text = str(raw).strip()
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{PORT_ANNOTATION}={raw!r} is not a TCP port number 1..65535")
    return int(text)


def load_rate(workload: Mapping[str, Any]) -> float | None:
    """The load rate the workload's annotation asks for, None without the annotation.

    Raises ValueError, naming the annotation and value, when the value is not a finite number >= 0.
    """
    raw = (workload["metadata"].get("annotations") or {}).get(LOAD_RATE_ANNOTATION)
    if raw is None:
        return None
    try:
        rate = float(str(raw).strip())
    except ValueError:
        rate = -1.0
    if not (0 <= rate < float("inf")):
        raise ValueError(f"{LOAD_RATE_ANNOTATION}={raw!r} is not a number of requests per second >= 0")
    return rate
