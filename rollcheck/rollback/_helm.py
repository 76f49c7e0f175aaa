"""`helm rollback RELEASE`, with rollcheck's guard: the Helm engine (implements RollbackEngine).

- plan reads `helm status` and `helm history`. A release whose current revision is no longer the verified one
  (someone upgraded, rolled back or reinstalled since) is skipped with the reason, never rolled back;
- the revision restored is named explicitly: the newest `deployed` or `superseded` revision before the current
  one. `helm rollback RELEASE 0` would take current - 1 even when that upgrade had failed. With no such
  revision the rollback is impossible;
- a previous revision whose manifest is the current one (only values that render nothing changed) is
  "already at revision", skipped like kubectl's;
- apply reads the current revision again just before `helm rollback`. helm has no compare-and-swap, so this
  narrows the window for a concurrent upgrade to one subprocess start; it cannot close it;
- wait watches the rollouts of the restored manifest's workloads, as `kubectl rollout status` does.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time

from .._errors import ClusterUnavailable
from .._errors import RollbackError
from .._errors import RollbackImpossible
from ..helm import Helm
from ..helm import manifest_workloads
from ..helm import previous_deployed
from ..kube import Kube
from ..kube import RolloutStatus
from ..kube import UnsupportedKind
from ..kube import wait_for_rollout
from ..target import Release
from ..target import TargetRef
from ..target import version_from_image
from ._engine import AppliedRollback
from ._engine import RollbackPlan

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
        images = tuple(image for workload in current for image in workload.images)
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
        if verified.revision is not None and status.revision != verified.revision:
            skip = (
                f"{what} is at revision {status.revision}, not the verified revision {verified.revision}: "
                "something was deployed after the release under test"
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
            return AppliedRollback(
                plan=plan, dry_run=dry_run, patch=(), issued_at=now, accepted_at=now, skip_reason=plan.skip_reason
            )
        assert plan.to_revision is not None, plan
        name, namespace = plan.target.name, plan.namespace
        revision = self.helm.status(name, namespace).revision
        if revision != plan.from_revision:
            changed = (
                f"{_what(plan.target, namespace)} moved from revision {plan.from_revision} to {revision} "
                "after the rollback was planned"
            )
            log.warning("not rolling back %s: %s", plan.target, changed)
            return AppliedRollback(
                plan=plan, dry_run=dry_run, patch=(), issued_at=now, accepted_at=_now(), skip_reason=changed
            )
        issued_at = _now()
        try:
            self.helm.rollback(name, namespace, plan.to_revision, dry_run=dry_run, timeout=self.timeout)
        except ClusterUnavailable as error:
            raise RollbackError(
                f"helm rollback of {_what(plan.target, namespace)} to revision {plan.to_revision} did not complete "
                f"its conversation with the cluster, so whether it was applied is unknown; check `helm history` "
                f"({error})"
            ) from None
        return AppliedRollback(plan=plan, dry_run=dry_run, patch=(), issued_at=issued_at, accepted_at=_now())

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


def _what(target: TargetRef, namespace: str) -> str:
    return f"helm release {namespace}/{target.name}"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
