"""The kind-specific half of preflight: what a workload's own object and history say about a rollback.

One reader per kind, each choosing the revision to restore with its rollback engine's own selection function,
so preflight cannot promise a rollback the engine would refuse. Every target kind has one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .._errors import RollbackImpossible
from ..helm import Helm
from ..helm import previous_deployed
from ..kube import Kube
from ..kube import owned_controller_revisions
from ..kube import owned_replica_sets
from ..rollback import PAUSED_MESSAGE
from ..rollback import select_controller_revision
from ..rollback import select_revision
from ..target import TargetKind
from ..target import TargetRef

__all__ = ["HISTORY_READERS", "HistoryReader", "WorkloadHistory"]


@dataclass(frozen=True, kw_only=True)
class WorkloadHistory:
    """What one read of the workload and its history says about rolling it back."""

    no_previous_reason: str | None
    """Why there is no previous revision (the rollback engine's own message); None when there is one."""
    revision_history_limit: int | None
    """spec.revisionHistoryLimit as set; None when unset (the API server then defaults it to 10) or when the
    kind has no such field (a Helm release: helm keeps its own history)."""
    paused_reason: str | None
    """Why the workload cannot be rolled back while it is paused; None when it is not paused."""


HistoryReader = Callable[[Kube, Helm, TargetRef, str], WorkloadHistory]
"""(kube, helm, target, namespace) → what its history says. Only a Helm release's reader uses helm."""


def _deployment(kube: Kube, helm: Helm, target: TargetRef, namespace: str) -> WorkloadHistory:
    deployment = kube.get_raw("deployment", target.name, namespace)
    spec = deployment.get("spec") or {}
    missing: str | None = None
    try:
        # The rollback engine's own choice (kubectl's second-highest revision), so preflight cannot disagree.
        select_revision(deployment, owned_replica_sets(kube, deployment))
    except RollbackImpossible as error:
        missing = str(error)
    return WorkloadHistory(
        no_previous_reason=missing,
        revision_history_limit=spec.get("revisionHistoryLimit"),
        paused_reason=PAUSED_MESSAGE if spec.get("paused") else None,
    )


def _revisioned(kube: Kube, helm: Helm, target: TargetRef, namespace: str) -> WorkloadHistory:
    """A StatefulSet or DaemonSet. Neither can be paused, so only the history is asked about."""
    workload = kube.get_raw(target.kind.value, target.name, namespace)
    missing: str | None = None
    try:
        # The engine's choice (kubectl's findHistory: the second-highest ControllerRevision).
        select_controller_revision(owned_controller_revisions(kube, workload))
    except RollbackImpossible as error:
        missing = f"{error}: {target} owns a single ControllerRevision"
    return WorkloadHistory(
        no_previous_reason=missing,
        revision_history_limit=(workload.get("spec") or {}).get("revisionHistoryLimit"),
        paused_reason=None,
    )


def _helm_release(kube: Kube, helm: Helm, target: TargetRef, namespace: str) -> WorkloadHistory:
    """A Helm release: helm's history holds its revisions; it has no revisionHistoryLimit and no pause."""
    current = helm.status(target.name, namespace).revision
    missing = None
    if previous_deployed(helm.history(target.name, namespace), current) is None:
        missing = (
            f"helm release {namespace}/{target.name} has no deployed or superseded revision before revision "
            f"{current} (helm history)"
        )
    return WorkloadHistory(no_previous_reason=missing, revision_history_limit=None, paused_reason=None)


HISTORY_READERS: dict[TargetKind, HistoryReader] = {
    TargetKind.DEPLOYMENT: _deployment,
    TargetKind.STATEFULSET: _revisioned,
    TargetKind.DAEMONSET: _revisioned,
    TargetKind.HELM: _helm_release,
}
"""kind → the reader of its rollback history."""
