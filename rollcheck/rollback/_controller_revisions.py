"""kubectl's StatefulSet and DaemonSet rollback, the pure parts: which ControllerRevision to restore, whether the
workload already runs it, and the patch.

Ported from kubernetes/kubectl `pkg/polymorphichelpers/rollback.go` (`DaemonSetRollbacker`,
`StatefulSetRollbacker`, `findHistory`, `daemonSetMatch`; docs/kubernetes.md A.2, A.3). kubectl compares the
revision's bytes with the live template re-encoded by Go; Python cannot reproduce Go's encoding, so the
comparison here is semantic (`semantic_equal`), which is what the bytes stand for.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from .._errors import RollbackImpossible
from ..kube import revision_template
from ..kube import semantic_equal

__all__ = ["NO_LAST_REVISION", "already_at", "guarded_revision_patch", "select_controller_revision"]

NO_LAST_REVISION = "no last revision to roll back to"


def select_controller_revision(history: Sequence[dict[str, Any]], to_revision: int = 0) -> dict[str, Any]:
    """kubectl's `findHistory`: `to_revision` 0 means the previous revision, the second-highest `.revision`
    (kubectl assumes the highest is the one running). Raises RollbackImpossible with kubectl's messages."""
    if to_revision < 0:
        raise RollbackImpossible(f"unable to find specified revision {to_revision} in history")
    if to_revision == 0 and len(history) <= 1:
        raise RollbackImpossible(NO_LAST_REVISION)
    ordered = sorted(history, key=lambda revision: int(revision.get("revision") or 0))
    if to_revision == 0:
        return ordered[-2]
    for revision in ordered:
        if int(revision.get("revision") or 0) == to_revision:
            return revision
    raise RollbackImpossible(f"unable to find specified revision {to_revision} in history")


def already_at(workload: Mapping[str, Any], revision: Mapping[str, Any]) -> bool:
    """kubectl's `daemonSetMatch` (used for StatefulSets too): the workload's template is the revision's."""
    return semantic_equal(revision_template(revision), (workload.get("spec") or {}).get("template") or {})


def guarded_revision_patch(
    data: Mapping[str, Any], resource_version: str, annotations: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The strategic merge patch kubectl sends (a ControllerRevision's `data`, whose template carries
    `"$patch": "replace"`), plus `metadata.resourceVersion`: the API server then applies it only to that
    version and answers 409 if anything wrote the workload since. `annotations` (rollcheck's markers) merge
    into the workload's own in the same request."""
    body = copy.deepcopy(dict(data))
    metadata: dict[str, Any] = {"resourceVersion": resource_version}
    if annotations:
        metadata["annotations"] = dict(annotations)
    body["metadata"] = metadata
    return body
