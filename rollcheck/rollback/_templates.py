"""kubectl's Deployment rollback, the pure parts: which ReplicaSet to restore, the annotations, the patch.

Ported from kubernetes/kubectl `pkg/polymorphichelpers/rollback.go` (commit dee3483; docs/kubernetes.md A.1):
`deploymentRevision`, the annotation merge of `DeploymentRollbacker.Rollback` and `getDeploymentPatch`.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from .._errors import RollbackImpossible
from .._errors import truncate
from ..kube import find_new_replica_set
from ..kube import parse_revision
from ..kube import sorted_by_creation
from ..kube import without_hash

__all__ = [
    "ANNOTATIONS_TO_SKIP",
    "MARKER_PREFIX",
    "PAUSED_MESSAGE",
    "ROLLBACK_REASON",
    "ROLLED_BACK_AT",
    "ROLLED_BACK_FROM",
    "guarded_patch",
    "kubectl_patch",
    "marker_annotations",
    "marker_ops",
    "rollback_annotations",
    "select_revision",
]

#: Annotations that stay the Deployment's own and are never copied back from the ReplicaSet (`annotationsToSkip`).
ANNOTATIONS_TO_SKIP = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        "deployment.kubernetes.io/revision",
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    }
)
PAUSED_MESSAGE = "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again"

MARKER_PREFIX = "rollcheck.dev/"
ROLLED_BACK_FROM = MARKER_PREFIX + "rolled-back-from"
ROLLBACK_REASON = MARKER_PREFIX + "rollback-reason"
ROLLED_BACK_AT = MARKER_PREFIX + "rolled-back-at"
#: A reason annotation says why in a line; the report has the whole story.
_REASON_CHARS = 200


def select_revision(
    deployment: Mapping[str, Any], owned: Sequence[dict[str, Any]], to_revision: int = 0
) -> tuple[dict[str, Any], int]:
    """kubectl's `deploymentRevision`: the ReplicaSet to restore and its revision.

    `to_revision` 0 means the previous revision: the second-highest revision among the owned ReplicaSets (not
    "current - 1", which is wrong after earlier rollbacks). Ties go as kubectl's walk goes: old ReplicaSets by
    creation time, then the new one last. Raises RollbackImpossible with kubectl's messages.
    """
    name = deployment["metadata"]["name"]
    if to_revision < 0:
        raise RollbackImpossible(f"unable to find specified revision {to_revision} in history")
    new_rs = find_new_replica_set(deployment, owned)
    new_uid = new_rs["metadata"]["uid"] if new_rs is not None else None
    candidates = [rs for rs in sorted_by_creation(owned) if rs["metadata"]["uid"] != new_uid]
    if new_rs is not None:
        candidates.append(new_rs)
    latest: tuple[int, dict[str, Any] | None] = (-1, None)
    previous: tuple[int, dict[str, Any] | None] = (-1, None)
    for rs in candidates:
        revision = parse_revision(rs)
        if revision is None:
            continue
        if to_revision == 0:
            if latest[0] < revision:
                previous, latest = latest, (revision, rs)
            elif previous[0] < revision:
                previous = (revision, rs)
        elif revision == to_revision:
            return rs, revision
    if to_revision > 0:
        raise RollbackImpossible(f"unable to find specified revision {to_revision} in history")
    if previous[1] is None:
        raise RollbackImpossible(f'no rollout history found for deployment "{name}"')
    return previous[1], previous[0]


def rollback_annotations(
    deployment_annotations: Mapping[str, str] | None, replica_set_annotations: Mapping[str, str] | None
) -> dict[str, str]:
    """The Deployment's annotations after the undo, replacing the old ones wholesale: its own values of the skip
    list, then every other annotation of the restored ReplicaSet (so `kubernetes.io/change-cause` goes back)."""
    own = deployment_annotations or {}
    result = {key: own[key] for key in ANNOTATIONS_TO_SKIP if key in own}
    result.update({k: v for k, v in (replica_set_annotations or {}).items() if k not in ANNOTATIONS_TO_SKIP})
    return result


def kubectl_patch(replica_set_template: Mapping[str, Any], annotations: Mapping[str, str]) -> list[dict[str, Any]]:
    """`getDeploymentPatch`: the JSON patch kubectl sends, its two replace ops exactly."""
    return [
        {"op": "replace", "path": "/spec/template", "value": without_hash(replica_set_template)},
        {"op": "replace", "path": "/metadata/annotations", "value": dict(annotations)},
    ]


def guarded_patch(
    resource_version: str, replica_set_template: Mapping[str, Any], annotations: Mapping[str, str]
) -> list[dict[str, Any]]:
    """kubectl's patch behind a `test` of the resourceVersion read when planning: if anything wrote the
    Deployment since, the API server rejects the whole patch with 422 instead of overwriting that write. The
    test changes nothing in the object the patch produces."""
    return [
        {"op": "test", "path": "/metadata/resourceVersion", "value": resource_version},
        *kubectl_patch(replica_set_template, annotations),
    ]


def marker_ops(
    *, from_revision: int | None, from_version: str | None, reason: str, at: datetime.datetime
) -> list[dict[str, Any]]:
    """Ops that record rollcheck's rollback on the Deployment, after kubectl's (an `add` replaces a marker the
    restored ReplicaSet may have carried back from an earlier rollback)."""
    markers = marker_annotations(from_revision=from_revision, from_version=from_version, reason=reason, at=at)
    return [{"op": "add", "path": f"/metadata/annotations/{_pointer(key)}", "value": v} for key, v in markers.items()]


def marker_annotations(
    *, from_revision: int | None, from_version: str | None, reason: str, at: datetime.datetime
) -> dict[str, str]:
    """rollcheck's marker annotations: what it rolled back from, when, and why."""
    origin = f"revision {from_revision if from_revision is not None else 'unknown'}"
    if from_version:
        origin += f" ({from_version})"
    markers = {
        ROLLED_BACK_FROM: origin,
        ROLLED_BACK_AT: at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if reason:
        markers[ROLLBACK_REASON] = truncate(reason, _REASON_CHARS)
    return markers


def _pointer(key: str) -> str:
    """A map key as a JSON pointer segment (RFC 6901: `~` → `~0`, `/` → `~1`)."""
    return key.replace("~", "~0").replace("/", "~1")
