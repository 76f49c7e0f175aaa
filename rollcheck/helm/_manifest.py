"""The workloads in a Helm release's rendered manifest: which Deployments, StatefulSets and DaemonSets it runs,
and their images. Only what rollcheck needs is kept; the rest (Secrets, ConfigMaps) is never held on to."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from .._errors import ClusterUnavailable
from ..kube import template_images
from ..target import TargetKind
from ..target import TargetRef

__all__ = ["Workload", "manifest_workloads"]

_WORKLOAD_KINDS: dict[tuple[object, object], TargetKind] = {
    ("apps/v1", "Deployment"): TargetKind.DEPLOYMENT,
    ("apps/v1", "StatefulSet"): TargetKind.STATEFULSET,
    ("apps/v1", "DaemonSet"): TargetKind.DAEMONSET,
}


@dataclass(frozen=True, kw_only=True)
class Workload:
    """A workload the release manages."""

    target: TargetRef
    """Its kind and name."""
    images: tuple[str, ...]
    """Its pod template's container images, in order, as rendered."""


def manifest_workloads(manifest: str, namespace: str, what: str) -> tuple[Workload, ...]:
    """The release's workloads in `namespace`, in manifest order. Objects the chart pins to another namespace
    are left out: rollcheck judges and waits on the release's namespace only. `what` names the manifest in
    an error (`helm release prod/shop revision 3`)."""
    try:
        documents = list(yaml.safe_load_all(manifest))
    except yaml.YAMLError:
        # The parser quotes the offending line, which could be a Secret's: say where only.
        raise ClusterUnavailable(f"the manifest of {what} is not valid YAML") from None
    workloads = []
    for document in documents:
        if not isinstance(document, dict):
            continue
        kind = _WORKLOAD_KINDS.get((document.get("apiVersion"), document.get("kind")))
        metadata = document.get("metadata") or {}
        if kind is None or metadata.get("namespace", namespace) != namespace:
            continue
        template = (document.get("spec") or {}).get("template") or {}
        workloads.append(Workload(target=TargetRef(kind, str(metadata.get("name"))), images=template_images(template)))
    return tuple(workloads)
