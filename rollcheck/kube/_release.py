"""Read the release under test from the cluster: one reader per workload kind behind one dispatch."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from ..target import Release
from ..target import TargetKind
from ..target import TargetRef
from ..target import version_from_image
from ._client import Kube
from ._errors import UnsupportedKind
from ._replicasets import POD_TEMPLATE_HASH
from ._replicasets import annotated_revision
from ._replicasets import find_new_replica_set
from ._replicasets import is_controlled_by
from ._replicasets import owned_replica_sets
from ._replicasets import selector_string
from ._status import rollout_status

__all__ = ["read_release", "template_images"]


def read_release(kube: Kube, target: TargetRef, namespace: str) -> Release:
    """The release `target` runs now. Raises NotFound if it does not exist, UnsupportedKind for kinds without
    a reader yet."""
    reader = _READERS.get(target.kind)
    if reader is None:
        raise UnsupportedKind(f"{target.kind.value} targets come later: only deployment targets are supported")
    return reader(kube, target, namespace)


def _read_deployment(kube: Kube, target: TargetRef, namespace: str) -> Release:
    deployment = kube.get_raw("deployment", target.name, namespace)
    metadata = deployment["metadata"]
    images = template_images(deployment["spec"]["template"])
    new_rs = find_new_replica_set(deployment, owned_replica_sets(kube, deployment))
    template_hash = ((new_rs or {}).get("metadata", {}).get("labels") or {}).get(POD_TEMPLATE_HASH)
    completed_at = None
    if new_rs is not None and rollout_status(deployment).done:
        completed_at = _latest_ready(kube, deployment, new_rs)
    return Release(
        target=target,
        namespace=namespace,
        revision=annotated_revision(deployment),
        images=images,
        version=version_from_image(images[0]) if images else None,
        rollout_completed_at=completed_at,
        generation=metadata.get("generation"),
        uid=metadata.get("uid"),
        template_hash=template_hash,
    )


def template_images(template: Mapping[str, Any]) -> tuple[str, ...]:
    """The images of a pod template's containers, in order (init containers are not the release)."""
    return tuple(c.get("image", "") for c in (template.get("spec") or {}).get("containers") or [])


def _latest_ready(
    kube: Kube, deployment: Mapping[str, Any], replica_set: Mapping[str, Any]
) -> datetime.datetime | None:
    """When the last pod of the new ReplicaSet became Ready: the moment the rollout completed."""
    hash_label = (replica_set["metadata"].get("labels") or {}).get(POD_TEMPLATE_HASH)
    selector = selector_string(deployment["spec"].get("selector"))
    if hash_label:
        selector = f"{selector},{POD_TEMPLATE_HASH}={hash_label}" if selector else f"{POD_TEMPLATE_HASH}={hash_label}"
    times = [
        datetime.datetime.fromisoformat(condition["lastTransitionTime"])
        for pod in kube.list_raw("pod", deployment["metadata"]["namespace"], selector)
        if is_controlled_by(pod, replica_set["metadata"]["uid"])
        for condition in (pod.get("status") or {}).get("conditions") or []
        if condition.get("type") == "Ready"
        and condition.get("status") == "True"
        and condition.get("lastTransitionTime")
    ]
    return max(times, default=None)


_READERS: dict[TargetKind, Callable[[Kube, TargetRef, str], Release]] = {TargetKind.DEPLOYMENT: _read_deployment}
