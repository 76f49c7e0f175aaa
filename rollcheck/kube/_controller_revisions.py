"""How a StatefulSet or DaemonSet relates to its ControllerRevisions and pods, on raw JSON.

Ported from kubernetes/kubectl `pkg/polymorphichelpers/history.go` (`statefulSetHistory`, `daemonSetHistory`;
docs/kubernetes.md A.2, A.3): the revisions a workload controls are listed by its selector and filtered by
controller uid. Each ControllerRevision's `data` is `{"spec": {"template": {…, "$patch": "replace"}}}`, the
strategic merge patch that restores it. Pure functions, except the two that list.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

from ._client import Kube
from ._replicasets import is_controlled_by
from ._replicasets import selector_string
from ._replicasets import semantic_equal

__all__ = [
    "REVISION_HASH_LABEL",
    "STRATEGIC_MERGE_PATCH",
    "current_controller_revision",
    "owned_controller_revisions",
    "revision_pod_selector",
    "revision_pods",
    "revision_template",
]

STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
#: The pod label that names a pod's revision: the ControllerRevision's name for a StatefulSet pod, its
#: `controller-revision-hash` label for a DaemonSet pod.
REVISION_HASH_LABEL = "controller-revision-hash"


def owned_controller_revisions(kube: Kube, workload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ControllerRevisions the workload controls: listed by its selector (all pages), filtered by
    controller uid, in the server's order."""
    metadata = workload["metadata"]
    selector = selector_string((workload.get("spec") or {}).get("selector"))
    listed = kube.list_raw("controllerrevision", metadata["namespace"], selector)
    return [revision for revision in listed if is_controlled_by(revision, metadata["uid"])]


def revision_template(revision: Mapping[str, Any]) -> dict[str, Any]:
    """The pod template a ControllerRevision restores, without the `$patch` directive."""
    template = ((revision.get("data") or {}).get("spec") or {}).get("template") or {}
    return {key: value for key, value in template.items() if key != "$patch"}


def current_controller_revision(
    workload: Mapping[str, Any], history: Iterable[dict[str, Any]]
) -> dict[str, Any] | None:
    """The revision whose template is the workload's (semantically); None before the controller recorded it.
    The controllers keep one revision per template, so the highest of any equal ones is the live one."""
    template = (workload.get("spec") or {}).get("template") or {}
    equal = [revision for revision in history if semantic_equal(revision_template(revision), template)]
    return max(equal, key=lambda revision: int(revision.get("revision") or 0), default=None)


def revision_pod_selector(workload: Mapping[str, Any], revision: Mapping[str, Any]) -> str:
    """The label selector of the workload's pods at `revision`."""
    metadata = revision["metadata"]
    if workload.get("kind") == "DaemonSet":
        value = (metadata.get("labels") or {}).get(REVISION_HASH_LABEL, "")
    else:
        value = metadata["name"]
    selector = selector_string((workload.get("spec") or {}).get("selector"))
    label = f"{REVISION_HASH_LABEL}={value}"
    return f"{selector},{label}" if selector else label


def revision_pods(kube: Kube, workload: Mapping[str, Any], selector: str) -> list[dict[str, Any]]:
    """The workload's own pods (controller uid) matching `selector`."""
    metadata = workload["metadata"]
    return [
        pod for pod in kube.list_raw("pod", metadata["namespace"], selector) if is_controlled_by(pod, metadata["uid"])
    ]
