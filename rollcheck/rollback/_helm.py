"""`helm rollback RELEASE`, with rollcheck's guard: the Helm engine (implements RollbackEngine).

- plan reads `helm status` and `helm history`. A release whose current revision is no longer the verified one
  (someone upgraded, rolled back or reinstalled since) is skipped with the reason, never rolled back;
- plan also reads the release's live workloads. helm's revision does not move when someone changes a chart's
  workload out of band (`kubectl set image` after the verification), and `helm rollback` would silently
  overwrite that change: when the live images are no longer the verified ones, the plan is skipped with both.
  A workload annotated `rollcheck.dev/rollback: unsafe` when the plan reads it freezes the rollback, even if
  the annotation came after the run read the release (a migration job);
- plan also reads the release's live workloads. helm's revision does not move when someone changes a chart's
  workload out of band (`kubectl set image` after the verification), and `helm rollback` would silently
  overwrite that change: when the live images are no longer the verified ones, the plan is skipped with both.
  A workload annotated `rollcheck.dev/rollback: unsafe` when the plan reads it freezes the rollback, even if
  the annotation came after the run read the release (a migration job);
- the revision restored is named explicitly: the newest `deployed` or `superseded` revision before the current
  one. `helm rollback RELEASE 0` would take current - 1 even when that upgrade had failed. With no such
  revision the rollback is impossible;
- a previous revision whose manifest is the current one (only values that render nothing changed) is
  "already at revision", skipped like kubectl's;
- apply reads the current revision and the live workloads again just before `helm rollback`. helm has no
  compare-and-swap, so this narrows the window for a concurrent upgrade to one subprocess start; it cannot
  close it;
- a `helm rollback` that gets no answer (the cluster went away, or helm ran past its timeout and was stopped)
  may or may not have been applied: the error says the outcome is unknown;
- wait watches the rollouts of the restored manifest's workloads, as `kubectl rollout status` does.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from dataclasses import dataclass

from .._errors import ClusterUnavailable
from .._errors import NotFound
from .._errors import RollbackError
from .._errors import RollbackImpossible
from ..helm import Helm
from ..helm import Workload
from ..helm import manifest_workloads
from ..helm import previous_deployed
from ..kube import Kube
from ..kube import RolloutStatus
from ..kube import UnsupportedKind
from ..kube import template_images
from ..kube import wait_for_rollout
from ..target import Release
from ..target import TargetRef
from ..target import version_from_image
from ._engine import AppliedRollback
from ._engine import RollbackPlan
from ._engine import freeze
from ._engine import frozen_skip
from ._engine import skipped

__all__ = ["HelmRollback"]

log = logging.getLogger("rollcheck.rollback")

#: The plan's patch_type: a Helm rollback is a helm command, not a PATCH body.
HELM_ROLLBACK = "helm rollback"


class HelmRollback:
    """The Helm release rollback engine (implements RollbackEngine)."""

    def __init__(self, kube: Kube, helm: Helm, *, timeout: float = 300.0) -> None:
        self.kube = kube
        self.helm = helm
        self.timeout = timeout
        """Seconds helm may take over the rollback's hooks (its --timeout)."""

    def plan(self, target: TargetRef, namespace: str, verified: Release, *, reason: str = "") -> RollbackPlan:
        if (verified.target, verified.namespace) != (target, namespace):
            raise ValueError(
                f"the verified release is {verified.namespace}/{verified.target}, not {namespace}/{target}"
            )
        what = _what(target, namespace)
        status = self.helm.status(target.name, namespace)
        current = manifest_workloads(status.manifest, namespace, f"{what} revision {status.revision}")
        live = self._live(current, namespace)
        images = live.images
        plan = RollbackPlan(
            target=target,
            namespace=namespace,
            from_revision=status.revision,
            to_revision=None,
            from_images=images,
            to_images=(),
            from_version=version_from_image(images[0]) if images else None,
            to_version=None,
            patch=(),
            patch_type=HELM_ROLLBACK,
            reason=reason,
        )
        if live.unsafe:
            unsafe = "; ".join(live.unsafe)
            return dataclasses.replace(plan, skip_reason=frozen_skip(unsafe), frozen_reason=unsafe)
        if verified.revision is not None and status.revision != verified.revision:
            skip = (
                f"{what} is at revision {status.revision}, not the verified revision {verified.revision}: "
                "something was deployed after the release under test"
            )
            return dataclasses.replace(plan, skip_reason=skip)
        if images != verified.images:
            skip = (
                f"{what} runs {_changes(verified.images, images)} since it was verified at revision "
                f"{status.revision}: something changed its workloads outside helm (kubectl set image, say), and "
                "helm rollback would overwrite that change"
            )
            return dataclasses.replace(plan, skip_reason=skip)
        restored = previous_deployed(self.helm.history(target.name, namespace), status.revision)
        if restored is None:
            raise RollbackImpossible(
                f"{what} has no deployed or superseded revision before revision {status.revision} to roll back to"
            )
        manifest = self.helm.manifest(target.name, namespace, restored.revision)
        to_images = tuple(
            image
            for workload in manifest_workloads(manifest, namespace, f"{what} revision {restored.revision}")
            for image in workload.images
        )
        plan = dataclasses.replace(
            plan,
            to_revision=restored.revision,
            to_images=to_images,
            to_version=version_from_image(to_images[0]) if to_images else None,
        )
        if manifest.strip() == status.manifest.strip():
            skip = f"skipped rollback (current manifest already matches revision {restored.revision})"
            return dataclasses.replace(plan, skip_reason=skip)
        return plan

    def apply(self, plan: RollbackPlan, *, dry_run: bool) -> AppliedRollback:
        now = _now()
        if plan.skip_reason is not None:
            return skipped(plan, dry_run=dry_run, reason=plan.skip_reason, frozen=plan.frozen_reason, issued_at=now)
        assert plan.to_revision is not None, plan
        name, namespace = plan.target.name, plan.namespace
        what = _what(plan.target, namespace)
        status = self.helm.status(name, namespace)
        if status.revision != plan.from_revision:
            changed = (
                f"{what} moved from revision {plan.from_revision} to {status.revision} after the rollback was planned"
            )
            log.warning("not rolling back %s: %s", plan.target, changed)
            return skipped(plan, dry_run=dry_run, reason=changed, issued_at=now)
        workloads = manifest_workloads(status.manifest, namespace, f"{what} revision {status.revision}")
        live = self._live(workloads, namespace)
        if live.unsafe:
            unsafe = "; ".join(live.unsafe)
            log.warning("not rolling back %s: %s", plan.target, unsafe)
            return skipped(plan, dry_run=dry_run, reason=frozen_skip(unsafe), frozen=unsafe, issued_at=now)
        if live.images != plan.from_images:
            changed = (
                f"{what} runs {_changes(plan.from_images, live.images)} since the rollback was planned: something "
                "changed its workloads outside helm, and helm rollback would overwrite that change"
            )
            log.warning("not rolling back %s: %s", plan.target, changed)
            return skipped(plan, dry_run=dry_run, reason=changed, issued_at=now)
        issued_at = _now()
        try:
            self.helm.rollback(name, namespace, plan.to_revision, dry_run=dry_run, timeout=self.timeout)
        except ClusterUnavailable as error:
            # No answer, or helm ran past its timeout and was stopped: it may have applied the rollback already.
            raise RollbackError(
                f"helm rollback of {what} to revision {plan.to_revision} did not finish its conversation with the "
                f"cluster, so whether it was applied is unknown; check `helm history` ({error})"
            ) from None
        return AppliedRollback(plan=plan, dry_run=dry_run, patch=(), issued_at=issued_at, accepted_at=_now())

    def _live(self, workloads: tuple[Workload, ...], namespace: str) -> _Live:
        images: list[str] = []
        unsafe: list[str] = []
        for workload in workloads:
            try:
                live = self.kube.get_raw(workload.target.kind.value, workload.target.name, namespace)
            except NotFound:
                continue  # deleted out of band: its images are missing, which the comparison reports
            images += template_images(live["spec"]["template"])
            found = freeze(live, workload.target, namespace)
            unsafe += [found] if found is not None else []
        return _Live(images=tuple(images), unsafe=tuple(unsafe))

    def wait(self, plan: RollbackPlan, *, timeout: float) -> RolloutStatus:
        deadline = time.monotonic() + timeout
        name, namespace = plan.target.name, plan.namespace
        status = self.helm.status(name, namespace)
        workloads = manifest_workloads(
            status.manifest, namespace, f"{_what(plan.target, namespace)} revision {status.revision}"
        )
        done = []
        for workload in workloads:
            try:
                rollout = wait_for_rollout(
                    self.kube, workload.target, namespace, timeout=max(0.0, deadline - time.monotonic())
                )
            except UnsupportedKind:
                continue  # not watchable yet: the recovery check judges it by its health
            if not rollout.done:
                return RolloutStatus(False, rollout.failed, f"{workload.target}: {rollout.message}")
            done.append(str(workload.target))
        return RolloutStatus(True, False, f"revision {status.revision} rolled out: {', '.join(done) or 'no workloads'}")


@dataclass(frozen=True)
class _Live:
    """What a Helm release's workloads are now, read from the cluster."""

    images: tuple[str, ...]
    """Their containers' images, workload by workload in manifest order: what runs, collected as the release
    reader collects them, so they compare with the verified ones."""
    unsafe: tuple[str, ...]
    """Why each workload that declares rolling back unsafe does so."""


def _changes(before: tuple[str, ...], after: tuple[str, ...]) -> str:
    """The images that differ, `a:v2 → a:v3`, or both lists when the workloads themselves changed."""
    if len(before) == len(after):
        return ", ".join(f"{old} → {new}" for old, new in zip(before, after, strict=True) if old != new)
    return f"[{', '.join(after)}] instead of [{', '.join(before)}]"


def _what(target: TargetRef, namespace: str) -> str:
    return f"helm release {namespace}/{target.name}"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
