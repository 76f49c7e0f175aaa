"""Where and when the baseline is: its series and window, from the settings and the target's ReplicaSets.

- previous-pods: the pods of the previous ReplicaSet (the highest revision below the release's that still
  has pods, else the highest), over the same window as the release: a canary, while both run.
- before-rollout: the workload's pods other than the release's, over an equally long window that ended when
  the rollout started (the first pod of the release's ReplicaSet was created); what PromQL's `offset` does,
  without rewriting anyone's query templates.

Pods are selected by name, `<deployment>-<pod-template-hash>-…`, like the release's own default selector;
`--baseline-selector` replaces that where series carry other labels (`version="v1"`).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any

from .._errors import InsufficientData
from ..settings._model import BaselineMode
from ..settings._model import Settings
from ..target._release import Release
from ._promql import escape_label_value
from ._promql import label_matchers
from ._promql import regex_literal
from ._range import BaselinePlan

if TYPE_CHECKING:
    from ..kube import Kube

__all__ = ["plan_baseline"]


def _created(obj: Mapping[str, Any]) -> datetime.datetime | None:
    stamp = (obj.get("metadata") or {}).get("creationTimestamp")
    return datetime.datetime.fromisoformat(stamp) if stamp else None


def _hash(replica_set: Mapping[str, Any]) -> str | None:
    from ..kube import POD_TEMPLATE_HASH

    labels = (replica_set.get("metadata") or {}).get("labels") or {}
    value = labels.get(POD_TEMPLATE_HASH)
    return str(value) if value else None


def _previous_hash(kube: Kube, release: Release) -> str:
    from ..kube import owned_replica_sets
    from ..kube import parse_revision

    deployment = kube.get_raw(release.target.kind.value, release.target.name, release.namespace)
    older = [
        rs
        for rs in owned_replica_sets(kube, deployment)
        if _hash(rs) and _hash(rs) != release.template_hash and (parse_revision(rs) or 0) < (release.revision or 0)
    ]
    running = [rs for rs in older if ((rs.get("status") or {}).get("replicas") or 0) > 0]
    candidates = running or older
    if not candidates:
        raise InsufficientData(
            f"{release.target} in {release.namespace} has no ReplicaSet older than revision {release.revision}: "
            "there is no previous release to compare with"
        )
    previous = _hash(max(candidates, key=lambda rs: parse_revision(rs) or 0))
    assert previous is not None  # filtered above
    return previous


def _rollout_started(kube: Kube, release: Release) -> datetime.datetime:
    from ..kube import POD_TEMPLATE_HASH

    pods = kube.list_raw("pod", release.namespace, f"{POD_TEMPLATE_HASH}={release.template_hash}")
    created = [stamp for pod in pods if (stamp := _created(pod)) is not None]
    if not created:
        raise InsufficientData(
            f"no pods of {release.target}'s ReplicaSet {release.template_hash} found: the rollout's start is unknown"
        )
    return min(created)


def _pods(release: Release, template_hash: str) -> str:
    prefix = regex_literal(f"{release.target.name}-{template_hash}-")
    return label_matchers({"namespace": release.namespace}, {"pod": f"{prefix}.*"})


def _other_pods(release: Release) -> str:
    workload = regex_literal(f"{release.target.name}-")
    matchers = label_matchers({"namespace": release.namespace}, {"pod": f"{workload}.*"})
    new = regex_literal(f"{release.target.name}-{release.template_hash}-")
    return f'{matchers},pod!~"{escape_label_value(new + ".*")}"'


def plan_baseline(
    settings: Settings,
    release: Release,
    kube: Kube,
    *,
    canary_selector: str,
    seconds: float,
    now: datetime.datetime,
) -> BaselinePlan:
    """The baseline for `settings.baseline` (not off). Raises InsufficientData when there is none to find."""
    if not release.template_hash:
        raise InsufficientData(f"{release.target} has no ReplicaSet of its own yet: no baseline to compare with")
    if settings.baseline is BaselineMode.PREVIOUS_PODS:
        selector = settings.baseline_selector or _pods(release, _previous_hash(kube, release))
        hint = (
            "previous-pods compares only while the previous ReplicaSet's pods still run (a paused or "
            "canary rollout); after a completed rollout use --baseline before-rollout"
        )
        return BaselinePlan(canary_selector, selector, now, now, seconds, hint)
    started = _rollout_started(kube, release)
    hint = f"the baseline window ended when the rollout started ({started.isoformat()})"
    selector = settings.baseline_selector or _other_pods(release)
    return BaselinePlan(canary_selector, selector, now, started, seconds, hint)
