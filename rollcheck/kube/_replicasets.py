"""How a Deployment relates to its ReplicaSets, as kubectl's deployment helpers see it, on raw JSON.

Ported from kubernetes/kubectl `pkg/util/deployment/deployment.go` and `pkg/polymorphichelpers/rollback.go`
(commit dee3483, see docs/kubernetes.md A.1): the ReplicaSets a Deployment controls, the "new" one, revision
numbers and equalIgnoreHash. Pure functions, except `owned_replica_sets`, which lists.
"""

from __future__ import annotations

import copy
import datetime
import re
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

from ._client import Kube

__all__ = [
    "POD_TEMPLATE_HASH",
    "REVISION_ANNOTATION",
    "annotated_revision",
    "equal_ignore_hash",
    "find_new_replica_set",
    "is_controlled_by",
    "owned_replica_sets",
    "parse_revision",
    "selector_string",
    "semantic_equal",
    "sorted_by_creation",
    "without_hash",
]

POD_TEMPLATE_HASH = "pod-template-hash"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"

_INT64 = re.compile(r"[+-]?[0-9]+")
_EPOCH = datetime.datetime.min.replace(tzinfo=datetime.UTC)


def selector_string(selector: Mapping[str, Any] | None) -> str:
    """A LabelSelector as the `labelSelector` query string (`LabelSelectorAsSelector(...).String()`)."""
    requirements: list[tuple[str, str]] = [
        (key, f"{key}={value}") for key, value in ((selector or {}).get("matchLabels") or {}).items()
    ]
    for expression in (selector or {}).get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = ",".join(sorted(expression.get("values") or []))
        text = {
            "In": f"{key} in ({values})",
            "NotIn": f"{key} notin ({values})",
            "Exists": key,
            "DoesNotExist": f"!{key}",
        }.get(operator)
        if text is None:
            raise ValueError(f"unknown label selector operator {operator!r}")
        requirements.append((key, text))
    return ",".join(text for _, text in sorted(requirements))


def is_controlled_by(obj: Mapping[str, Any], uid: str) -> bool:
    """`metav1.IsControlledBy`: an ownerReference with `controller: true` and this owner's uid."""
    references = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(ref.get("controller") is True and ref.get("uid") == uid for ref in references)


def owned_replica_sets(kube: Kube, deployment: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ReplicaSets the Deployment controls: listed by its selector (all pages), filtered by controller uid,
    in the server's order (as kubectl's `listReplicaSets`)."""
    metadata = deployment["metadata"]
    selector = selector_string(deployment.get("spec", {}).get("selector"))
    listed = kube.list_raw("replicaset", metadata["namespace"], selector)
    return [rs for rs in listed if is_controlled_by(rs, metadata["uid"])]


def sorted_by_creation(replica_sets: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Oldest first, names breaking ties (kubectl's `replicaSetsByCreationTimestamp`)."""
    return sorted(replica_sets, key=lambda rs: (_created(rs), rs["metadata"].get("name", "")))


def find_new_replica_set(
    deployment: Mapping[str, Any], replica_sets: Iterable[dict[str, Any]]
) -> dict[str, Any] | None:
    """The oldest ReplicaSet whose template equals the Deployment's, ignoring pod-template-hash; None if the
    controller has not created it yet."""
    # A long history means many comparisons: the Deployment's side is normalised once, and a ReplicaSet whose
    # images differ is passed over without normalising its whole template.
    template = deployment.get("spec", {}).get("template") or {}
    wanted, wanted_images = _comparable(template), _images(template)
    for rs in sorted_by_creation(replica_sets):
        candidate = rs.get("spec", {}).get("template") or {}
        if wanted_images is not None and _images(candidate) not in (None, wanted_images):
            continue
        if _comparable(candidate) == wanted:
            return rs
    return None


def parse_revision(obj: Mapping[str, Any]) -> int | None:
    """`deploymentutil.Revision`: a missing annotation is revision 0; None means unparsable (kubectl skips the
    object), exactly where Go's `strconv.ParseInt(v, 10, 64)` fails."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if REVISION_ANNOTATION not in annotations:
        return 0
    text = str(annotations[REVISION_ANNOTATION])
    if not _INT64.fullmatch(text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


def annotated_revision(obj: Mapping[str, Any]) -> int | None:
    """The revision for the record: None when the annotation is missing or unparsable (kubectl's 0 for a
    missing annotation only matters when choosing among ReplicaSets)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return parse_revision(obj) if REVISION_ANNOTATION in annotations else None


def without_hash(template: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of a pod template without the pod-template-hash label."""
    result = copy.deepcopy(dict(template))
    labels = (result.get("metadata") or {}).get("labels")
    if labels is not None:
        labels.pop(POD_TEMPLATE_HASH, None)
    return result


def equal_ignore_hash(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """kubectl's `equalIgnoreHash`: semantic equality after dropping pod-template-hash from both labels."""
    return _comparable(first) == _comparable(second)


def _comparable(template: Mapping[str, Any]) -> object:
    """A pod template as `equal_ignore_hash` compares it: normalised (see `semantic_equal`), without the
    pod-template-hash label. Built without copying the template first: `_normalised` builds new containers."""
    metadata = template.get("metadata") or {}
    labels = metadata.get("labels")
    if labels and POD_TEMPLATE_HASH in labels:
        hashless = {key: value for key, value in labels.items() if key != POD_TEMPLATE_HASH}
        template = {**template, "metadata": {**metadata, "labels": hashless}}
    return _normalised(template)


def semantic_equal(first: object, second: object) -> bool:
    """`apiequality.Semantic.DeepEqual` on raw JSON: a nil map or slice equals an empty one.

    JSON does not say which `{}` is a struct value (always present in Go, so "missing" and "empty" are the same
    value) and which a pointer (nil differs from a pointer to an empty struct). Values that are empty once
    their own empty members are dropped count as missing, which is right for struct values such as
    `metadata` and `resources`. The pointers (`securityContext` …) are defaulted by the API server on both
    sides of a Deployment/ReplicaSet comparison, so the approximation does not show there.
    """
    return _normalised(first) == _normalised(second)


def _images(template: Mapping[str, Any]) -> tuple[object, ...] | None:
    """Each container's image as `_comparable` leaves it (None where it drops the field), or None for a template
    too odd to say. Templates whose images differ never compare equal, so this passes them over cheaply."""
    spec = template.get("spec")
    containers = spec.get("containers") if isinstance(spec, Mapping) else None
    if not containers:
        return ()
    if not isinstance(containers, list) or not all(isinstance(container, Mapping) for container in containers):
        return None
    images = (_normalised(container.get("image")) for container in containers)
    return tuple(None if image is None or image == {} or image == [] else image for image in images)


def _normalised(value: object) -> object:
    if isinstance(value, Mapping):
        members = {k: _normalised(v) for k, v in value.items()}
        return {k: v for k, v in members.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        # A slice with an element is not empty, even if that element is: `[{}]` stays.
        return [_normalised(item) for item in value]
    return value


def _created(obj: Mapping[str, Any]) -> datetime.datetime:
    stamp = (obj.get("metadata") or {}).get("creationTimestamp")
    return datetime.datetime.fromisoformat(stamp) if stamp else _EPOCH
