"""The interface every rollback engine implements (one per workload kind), as data in and data out.

engine = engine_for(TargetKind.DEPLOYMENT, kube)
plan = engine.plan(target, namespace, verified, reason="error rate 7% > 1%")   # reads only
if plan.skip_reason is None:
    applied = engine.apply(plan, dry_run=False)      # one PATCH, guarded: nothing changed since the plan
    if applied.skip_reason is None:
        status = engine.wait(plan, timeout=300)      # kubectl rollout status
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any
from typing import Protocol

from .._errors import ClusterUnavailable
from .._errors import RollbackError
from ..kube import JSON_PATCH
from ..kube import Kube
from ..kube import RolloutStatus
from ..kube import UnsupportedKind
from ..kube import template_images
from ..target import Release
from ..target import TargetKind
from ..target import TargetRef
from ..target._release import rollback_unsafe_reason

if TYPE_CHECKING:
    from ..helm import Helm

__all__ = ["AppliedRollback", "RollbackEngine", "RollbackPlan", "engine_for", "freeze", "frozen_skip", "skipped"]


log = logging.getLogger("rollcheck.rollback")


@dataclass(frozen=True, kw_only=True)
class RollbackPlan:
    """What a rollback would change, read from the cluster; nothing has been written yet."""

    target: TargetRef
    """The workload."""
    namespace: str
    """Its namespace."""
    from_revision: int | None
    """The revision running now (the one being rolled back)."""
    to_revision: int | None
    """The revision to restore; None when skipped before one was chosen."""
    from_images: tuple[str, ...]
    """Container images running now."""
    to_images: tuple[str, ...]
    """Container images after the rollback."""
    from_version: str | None
    """First container's tag now."""
    to_version: str | None
    """First container's tag after the rollback."""
    patch: tuple[dict[str, Any], ...] = field(repr=False)
    """The patch body (for a Deployment: the JSON patch: resourceVersion test + kubectl's two replace ops; for
    a StatefulSet or DaemonSet: one strategic merge patch, the ControllerRevision's data).
    Left out of repr: a pod template can hold environment values that are secrets."""
    patch_type: str = JSON_PATCH
    """The patch's content type."""
    skip_reason: str | None = None
    """Why nothing will be done (already at that revision, or changed since it was verified); None to act."""
    reason: str = ""
    """Why the rollback is wanted; recorded on the workload as an annotation when applied."""
    frozen_reason: str | None = None
    """Set with skip_reason when the skip is a freeze: the workload (or one of a Helm release's) declares
    rolling back unsafe (`rollcheck.dev/rollback: unsafe`) when the plan read it, an annotation added after the
    release was read at the start of the run, say by a migration job. The record's action is then `frozen`."""
    uid: str | None = None
    """metadata.uid when planned: apply refuses a workload recreated since."""
    current_template: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """The pod template when planned: apply skips if a deploy has changed it since."""
    restored_template: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """The template to restore (pod-template-hash removed), to rebuild the patch after an unrelated write."""
    restored_annotations: Mapping[str, str] = field(default_factory=dict, repr=False)
    """The restored ReplicaSet's annotations: kubectl's annotation rules are applied to them again, against the
    live Deployment, when the patch has to be rebuilt."""


@dataclass(frozen=True, kw_only=True)
class AppliedRollback:
    """What `apply` did: the request it sent and what the API server answered."""

    plan: RollbackPlan
    """The plan it carried out."""
    dry_run: bool
    """True for a server-side dry run (`dryRun=All`): everything checked, nothing stored."""
    patch: tuple[dict[str, Any], ...] = field(repr=False)
    """The body sent: the plan's patch plus rollcheck's marker annotations; empty when skipped."""
    issued_at: datetime.datetime
    """When the PATCH was sent (or, when skipped, when apply decided not to send it)."""
    accepted_at: datetime.datetime
    """When the API server accepted it."""
    result: Mapping[str, Any] | None = field(default=None, repr=False)
    """The object as the server returned it (for a dry run: as it would be); None when skipped."""
    skip_reason: str | None = None
    """Why nothing was sent: the plan's own skip, or the workload changed between plan and apply (someone
    deployed, or recreated it)."""
    frozen_reason: str | None = None
    """Set with skip_reason when the skip is a freeze (see RollbackPlan.frozen_reason): the plan's, or an
    unsafe annotation that apply found on the live workload."""

    @property
    def images_after(self) -> tuple[str, ...]:
        """The images the workload runs (or for a dry run would run) after the patch."""
        template = ((self.result or {}).get("spec") or {}).get("template") or {}
        return template_images(template)


def freeze(workload: Mapping[str, Any], target: TargetRef, namespace: str) -> str | None:
    """Why the live workload declares rolling back unsafe (its `rollcheck.dev/rollback` annotation, read now),
    or None. The engines ask again just before acting: the run read the release when it started, and a
    migration job may have set the annotation while the checks ran."""
    annotations = (workload.get("metadata") or {}).get("annotations") or {}
    return rollback_unsafe_reason(annotations, f"{target} in {namespace}")


def frozen_skip(unsafe: str) -> str:
    """The skip reason of a freeze found by an engine; the same words as the decision's freeze."""
    return f"frozen, not rolled back: {unsafe}"


def skipped(
    plan: RollbackPlan, *, dry_run: bool, reason: str, frozen: str | None = None, issued_at: datetime.datetime
) -> AppliedRollback:
    """What apply returns when it sends nothing: `reason` says why, `frozen` when that is a freeze."""
    return AppliedRollback(
        plan=plan,
        dry_run=dry_run,
        patch=(),
        issued_at=issued_at,
        accepted_at=datetime.datetime.now(datetime.UTC),
        skip_reason=reason,
        frozen_reason=frozen,
    )


def read_back_after_lost_answers(
    kube: Kube,
    plan: RollbackPlan,
    *,
    restored: Callable[[Mapping[str, Any]], bool],
    patch: tuple[dict[str, Any], ...],
    issued_at: datetime.datetime,
    lost: Exception,
) -> AppliedRollback:
    """Every attempt of the rollback PATCH went unanswered. One read settles what happened when the API server
    answers it and `restored` says the workload is at the planned template: a PATCH landed, and the rollback goes
    on to its wait. Otherwise its outcome stays unknown (RollbackError), since a request the API server is still
    working on may yet apply."""
    kind, name, namespace = plan.target.kind.value, plan.target.name, plan.namespace
    try:
        live = kube.get_raw(kind, name, namespace)
    except ClusterUnavailable:
        raise RollbackError(
            f"the rollback PATCH of {kind} {namespace}/{name} got no answer, so whether it was applied is unknown; "
            f"check its revision ({lost})"
        ) from None
    if not restored(live):
        raise RollbackError(
            f"the rollback PATCH of {kind} {namespace}/{name} got no answer and a read afterwards did not show it "
            f"applied, but one still in flight may yet apply; check its revision ({lost})"
        )
    log.info("%s %s/%s was restored although no answer to its PATCH arrived", kind, namespace, name)
    return AppliedRollback(
        plan=plan,
        dry_run=False,
        patch=patch,
        issued_at=issued_at,
        accepted_at=datetime.datetime.now(datetime.UTC),
        result=live,
    )


class RollbackEngine(Protocol):
    """Rolls one kind of workload back exactly as `kubectl rollout undo` does, with rollcheck's guard."""

    def plan(self, target: TargetRef, namespace: str, verified: Release, *, reason: str = "") -> RollbackPlan:
        """Read the workload and decide what to restore. Skips (with a reason) anything deployed after
        `verified`, and freezes (skip_reason and frozen_reason) a workload that now declares rolling back
        unsafe; raises RollbackImpossible when kubectl would refuse (no history, paused)."""
        ...

    def apply(self, plan: RollbackPlan, *, dry_run: bool) -> AppliedRollback:
        """Send the patch (server-side dry run with `dry_run`) only while the workload is still as planned and not
        declared unsafe to roll back since: read and checked again, or, for a Deployment, made sure of by the
        patch's test of the planned resourceVersion (refused, apply reads and checks again). Raises Conflict if
        writes keep landing in between, Forbidden without the RBAC rights."""
        ...

    def wait(self, plan: RollbackPlan, *, timeout: float) -> RolloutStatus:
        """Wait for the restored rollout, as `kubectl rollout status`; a timeout returns done=False."""
        ...


def engine_for(kind: TargetKind, kube: Kube, *, helm: Helm | None = None, timeout: float = 300.0) -> RollbackEngine:
    """The engine for a kind. A helm target needs `helm`, the CLI against the same cluster as `kube` (ValueError
    without it); `timeout` bounds its hooks. Raises UnsupportedKind for a kind without an engine."""
    # Imported here: the Deployment engine imports this module for the data types.
    from ._daemonset import DaemonSetRollback
    from ._deployment import DeploymentRollback
    from ._helm import HelmRollback
    from ._statefulset import StatefulSetRollback

    if kind is TargetKind.DEPLOYMENT:
        return DeploymentRollback(kube)
    if kind is TargetKind.STATEFULSET:
        return StatefulSetRollback(kube)
    if kind is TargetKind.DAEMONSET:
        return DaemonSetRollback(kube)
    if kind is TargetKind.HELM:
        if helm is None:
            raise ValueError("a helm target's engine needs the helm CLI: engine_for(kind, kube, helm=Helm(...))")
        return HelmRollback(kube, helm, timeout=timeout)
    raise UnsupportedKind(f"{kind.value} targets have no rollback engine")
