"""The release under test, as read from the cluster once at the start of a run."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from ._ref import TargetRef

__all__ = ["Release", "version_from_image"]


def version_from_image(image: str) -> str | None:
    """The tag of an image reference (`registry:5000/shop:v2@sha256:…` → `v2`); None when untagged."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


@dataclass(frozen=True, kw_only=True)
class Release:
    target: TargetRef
    """The workload."""
    namespace: str
    """Its namespace."""
    revision: int | None
    """Revision under test (`deployment.kubernetes.io/revision`, ControllerRevision number, Helm revision)."""
    images: tuple[str, ...]
    """Container images of the pod template, in order."""
    version: str | None
    """The first container image's tag."""
    rollout_completed_at: datetime.datetime | None
    """When the rollout finished (the newest pod's Ready transition), so metric windows start there."""
    generation: int | None = None
    """metadata.generation when read: the rollback guard refuses to act if it moved on."""
    uid: str | None = None
    """metadata.uid: a deleted and recreated workload is not the one that was verified."""
    template_hash: str | None = None
    """pod-template-hash of the newest ReplicaSet (Deployments): selects only the new pods' series."""
