"""Read the release under test from the cluster: one reader per workload kind behind one dispatch."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

from ..target import Release
from ..target import TargetKind
from ..target import TargetRef
from ..target import version_from_image
from ..target._release import rollback_unsafe_reason
from ._client import Kube
from ._controller_revisions import current_controller_revision
from ._controller_revisions import owned_controller_revisions
from ._controller_revisions import revision_pod_selector
from ._controller_revisions import revision_pods
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
    """The release the workload `target` runs now. Raises NotFound if it does not exist, UnsupportedKind for a
    target that is not one workload (a Helm release: see rollcheck.helm.read_target_release)."""
    reader = _READERS.get(target.kind)
    if reader is None:
        raise UnsupportedKind(
            f"{target} is not one workload, so the Kubernetes reader cannot read it; a Helm release is read "
            "through helm (rollcheck.helm.read_target_release)"
        )
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
        rollback_unsafe=rollback_unsafe_reason(metadata.get("annotations") or {}, f"{target} in {namespace}"),
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
    pods = kube.list_raw("pod", deployment["metadata"]["namespace"], selector)
    return _last_ready(pod for pod in pods if is_controlled_by(pod, replica_set["metadata"]["uid"]))


def _read_revisioned(kube: Kube, target: TargetRef, namespace: str) -> Release:
    """A StatefulSet or DaemonSet: its revision is the number of the ControllerRevision holding its template."""
    workload = kube.get_raw(target.kind.value, target.name, namespace)
    metadata = workload["metadata"]
    images = template_images(workload["spec"]["template"])
    current = current_controller_revision(workload, owned_controller_revisions(kube, workload))
    completed_at = None
    if current is not None and rollout_status(workload).done:
        completed_at = _last_ready(revision_pods(kube, workload, revision_pod_selector(workload, current)))
    return Release(
        target=target,
        namespace=namespace,
        revision=int(current["revision"]) if current is not None else None,
        images=images,
        version=version_from_image(images[0]) if images else None,
        rollout_completed_at=completed_at,
        generation=metadata.get("generation"),
        uid=metadata.get("uid"),
        rollback_unsafe=rollback_unsafe_reason(metadata.get("annotations") or {}, f"{target} in {namespace}"),
    )


def _last_ready(pods: Iterable[Mapping[str, Any]]) -> datetime.datetime | None:
    """The latest Ready transition among the pods: when the last of them became Ready."""
    times = [
        datetime.datetime.fromisoformat(condition["lastTransitionTime"])
        for pod in pods
        for condition in (pod.get("status") or {}).get("conditions") or []
        if condition.get("type") == "Ready"
        and condition.get("status") == "True"
        and condition.get("lastTransitionTime")
    ]
    return max(times, default=None)


_READERS: dict[TargetKind, Callable[[Kube, TargetRef, str], Release]] = {
    TargetKind.DEPLOYMENT: _read_deployment,
    TargetKind.STATEFULSET: _read_revisioned,
    TargetKind.DAEMONSET: _read_revisioned,
}
