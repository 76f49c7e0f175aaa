"""The release under test, as read from the cluster once at the start of a run."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from ._ref import TargetRef

__all__ = [
    "ROLLBACK_ANNOTATION",
    "ROLLBACK_REASON_ANNOTATION",
    "Release",
    "rollback_unsafe_reason",
    "version_from_image",
]

ROLLBACK_ANNOTATION = "rollcheck.dev/rollback"
"""On the workload: `unsafe` declares that rolling this release back would do harm (say, after an
irreversible migration), so rollcheck freezes instead; `safe` (or no annotation) allows it."""
ROLLBACK_REASON_ANNOTATION = "rollcheck.dev/rollback-unsafe-reason"
"""On the workload, optional: why rolling back is unsafe, shown in the report and the terminal."""


def rollback_unsafe_reason(annotations: Mapping[str, str], where: str) -> str | None:
    """Why the workload declares rolling back unsafe, from its annotations; None when it does not. `where` names
    the workload (`deployment/shop in prod`). A value other than `safe` or `unsafe` is treated as unsafe and the
    reason says so: whoever set the annotation meant something, and a wrong rollback cannot be undone."""
    value = annotations.get(ROLLBACK_ANNOTATION)
    if value is None or value.strip().lower() == "safe":
        return None
    why = (annotations.get(ROLLBACK_REASON_ANNOTATION) or "").strip() or "no reason given"
    if value.strip().lower() != "unsafe":
        return (
            f"{where} has {ROLLBACK_ANNOTATION}={value!r}, which is neither 'safe' nor 'unsafe', so rolling back "
            f"is treated as unsafe ({ROLLBACK_REASON_ANNOTATION}: {why})"
        )
    return f"{where} declares rolling back unsafe ({ROLLBACK_ANNOTATION}=unsafe; {ROLLBACK_REASON_ANNOTATION}: {why})"


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
    workloads: tuple[TargetRef, ...] = ()
    """For a Helm release: the Deployments, StatefulSets and DaemonSets its manifest runs in the namespace;
    empty for a single-workload target."""
    rollback_unsafe: str | None = None
    """Why the workload declares rolling back unsafe (`rollcheck.dev/rollback: unsafe`); None when it does not.
    A failed verdict then freezes the release instead of rolling it back."""
