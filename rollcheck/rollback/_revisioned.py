"""`kubectl rollout undo statefulset/NAME` and `daemonset/NAME` (docs/kubernetes.md A.2, A.3), made safe to
automate the way the Deployment engine is.

Beyond kubectl:
- the freeze, asked again: a workload annotated `rollcheck.dev/rollback: unsafe` when the plan (or apply)
  reads it is not rolled back, even if the annotation came after the run read the release;
- the guard: a workload deployed again (its template is no longer the verified revision's) or recreated (uid
  changed) after the verified release is never rolled back: the plan is skipped with a reason. A scale moves
  the generation but not the revision, so it does not trip it;
- apply reads the workload again and sends kubectl's strategic merge patch (the ControllerRevision's `data`)
  with that `metadata.resourceVersion` in it: a write between the read and the PATCH makes the server refuse
  it (409) instead of being overwritten. apply then reads again: an unrelated write is patched around, up to
  three times; a deploy since the plan is a skip; persistent contention ends as Conflict;
- rollcheck's marker annotations merge into the workload's in the same request. Unlike a Deployment's, these
  annotations are not part of any revision: the controllers record only the pod template;
- dry runs are server-side (`dryRun=All`).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import logging
from collections.abc import Mapping
from typing import Any

from .._errors import ClusterUnavailable
from .._errors import Conflict
from ..kube import STRATEGIC_MERGE_PATCH
from ..kube import Kube
from ..kube import RolloutStatus
from ..kube import current_controller_revision
from ..kube import owned_controller_revisions
from ..kube import revision_template
from ..kube import semantic_equal
from ..kube import template_images
from ..kube import wait_for_rollout
from ..target import Release
from ..target import TargetKind
from ..target import TargetRef
from ..target import version_from_image
from ._controller_revisions import already_at
from ._controller_revisions import guarded_revision_patch
from ._controller_revisions import select_controller_revision
from ._engine import AppliedRollback
from ._engine import RollbackPlan
from ._engine import freeze
from ._engine import frozen_skip
from ._engine import read_back_after_lost_answers
from ._engine import skipped
from ._templates import ROLLED_BACK_AT
from ._templates import ROLLED_BACK_FROM
from ._templates import marker_annotations

__all__ = ["RevisionedRollback"]

log = logging.getLogger("rollcheck.rollback")

#: How often apply reads and patches when other writes (status, a scale, a label) keep landing in between.
_ATTEMPTS = 3


class RevisionedRollback:
    """The rollback engine of a workload kind with ControllerRevisions (implements RollbackEngine)."""

    kind: TargetKind
    """The kind this engine rolls back; set by each subclass."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    def plan(self, target: TargetRef, namespace: str, verified: Release, *, reason: str = "") -> RollbackPlan:
        if (verified.target, verified.namespace) != (target, namespace) or target.kind is not self.kind:
            raise ValueError(
                f"the verified release is {verified.namespace}/{verified.target}, not {namespace}/{target} "
                f"({self.kind.value} engine)"
            )
        workload = self.kube.get_raw(self.kind.value, target.name, namespace)
        metadata = workload["metadata"]
        template = workload["spec"]["template"]
        history = owned_controller_revisions(self.kube, workload)
        current = current_controller_revision(workload, history)
        images = template_images(template)
        plan = RollbackPlan(
            target=target,
            namespace=namespace,
            from_revision=int(current["revision"]) if current is not None else None,
            to_revision=None,
            from_images=images,
            to_images=(),
            from_version=version_from_image(images[0]) if images else None,
            to_version=None,
            patch=(),
            patch_type=STRATEGIC_MERGE_PATCH,
            reason=reason,
            uid=metadata["uid"],
            current_template=template,
        )
        unsafe = freeze(workload, target, namespace)
        if unsafe is not None:
            return dataclasses.replace(plan, skip_reason=frozen_skip(unsafe), frozen_reason=unsafe)
        changed = self._changed_since_verified(workload, plan.from_revision, verified)
        if changed is not None:
            return dataclasses.replace(plan, skip_reason=changed)
        restored = select_controller_revision(history)
        to_revision = int(restored["revision"])
        restored_template = revision_template(restored)
        to_images = template_images(restored_template)
        plan = dataclasses.replace(
            plan,
            to_revision=to_revision,
            to_images=to_images,
            to_version=version_from_image(to_images[0]) if to_images else None,
            restored_template=restored_template,
        )
        if already_at(workload, restored):
            # kubectl prints the --to-revision it was given (0 by default); the real revision says more.
            skip = f"skipped rollback (current template already matches revision {to_revision})"
            return dataclasses.replace(plan, skip_reason=skip)
        patch = guarded_revision_patch(restored["data"], metadata["resourceVersion"])
        return dataclasses.replace(plan, patch=(patch,))

    def apply(self, plan: RollbackPlan, *, dry_run: bool) -> AppliedRollback:
        now = _now()
        if plan.skip_reason is not None:
            return skipped(plan, dry_run=dry_run, reason=plan.skip_reason, frozen=plan.frozen_reason, issued_at=now)
        kind, name, namespace = self.kind.value, plan.target.name, plan.namespace
        issued_at = _now()
        markers = marker_annotations(
            from_revision=plan.from_revision, from_version=plan.from_version, reason=plan.reason, at=issued_at
        )
        data = {key: value for key, value in plan.patch[0].items() if key != "metadata"}
        for attempt in range(1, _ATTEMPTS + 1):
            live = self.kube.get_raw(kind, name, namespace)
            if attempt > 1 and not dry_run and _already_restored(live, plan, markers):
                # The previous PATCH landed but its answer was lost: that attempt was the rollback.
                log.info("%s %s/%s was already restored by the previous attempt", kind, namespace, name)
                return AppliedRollback(
                    plan=plan, dry_run=dry_run, patch=(), issued_at=issued_at, accepted_at=_now(), result=live
                )
            unsafe = freeze(live, plan.target, namespace)
            if unsafe is not None:
                log.warning("not rolling back %s %s/%s: %s", kind, namespace, name, unsafe)
                return skipped(plan, dry_run=dry_run, reason=frozen_skip(unsafe), frozen=unsafe, issued_at=now)
            changed = _changed_since_plan(live, plan)
            if changed is not None:
                log.warning("not rolling back %s %s/%s: %s", kind, namespace, name, changed)
                return skipped(plan, dry_run=dry_run, reason=changed, issued_at=now)
            body = guarded_revision_patch(data, live["metadata"]["resourceVersion"], markers)
            try:
                result = self.kube.patch_raw(kind, name, namespace, body, plan.patch_type, dry_run=dry_run)
            except Conflict:
                if attempt < _ATTEMPTS:
                    continue  # something wrote the workload in between (status, a scale, a label, a deploy)
                if not dry_run and _already_restored(self.kube.get_raw(kind, name, namespace), plan, markers):
                    # This PATCH landed, its answer was lost and the client's replay failed its resourceVersion.
                    return AppliedRollback(
                        plan=plan, dry_run=dry_run, patch=(body,), issued_at=issued_at, accepted_at=_now()
                    )
                raise
            except ClusterUnavailable as error:
                if dry_run:
                    raise
                landed = functools.partial(_already_restored, plan=plan, markers=markers)
                return read_back_after_lost_answers(
                    self.kube, plan, restored=landed, patch=(body,), issued_at=issued_at, lost=error
                )
            return AppliedRollback(
                plan=plan, dry_run=dry_run, patch=(body,), issued_at=issued_at, accepted_at=_now(), result=result
            )
        raise AssertionError("unreachable: the last attempt returns or raises")

    def wait(self, plan: RollbackPlan, *, timeout: float) -> RolloutStatus:
        return wait_for_rollout(self.kube, plan.target, plan.namespace, timeout=timeout)

    def _changed_since_verified(
        self, workload: Mapping[str, Any], revision: int | None, verified: Release
    ) -> str | None:
        """Why the workload is no longer the verified release (so it must not be rolled back), or None."""
        metadata = workload["metadata"]
        what = f"{self.kind.value} {metadata['namespace']}/{metadata['name']}"
        if verified.uid is not None and metadata["uid"] != verified.uid:
            return f"{what} was deleted and recreated after it was verified (uid {verified.uid} → {metadata['uid']})"
        if revision is None:
            return (
                f"{what} has a pod template no ControllerRevision records yet, so it is not the verified revision "
                f"{verified.revision}: something was deployed after the release under test"
            )
        if verified.revision is not None and revision != verified.revision:
            return (
                f"{what} is at revision {revision}, not the verified revision {verified.revision}: "
                "something was deployed after the release under test"
            )
        return None


def _changed_since_plan(live: Mapping[str, Any], plan: RollbackPlan) -> str | None:
    """Why the workload must not be patched any more (redeployed or recreated since the plan), or None.
    Any other write since the plan is caught by the patch's resourceVersion (Conflict)."""
    metadata = live["metadata"]
    what = f"{plan.target.kind.value} {plan.namespace}/{plan.target.name}"
    if metadata["uid"] != plan.uid:
        return f"{what} was deleted and recreated after the rollback was planned (uid {plan.uid} → {metadata['uid']})"
    if not semantic_equal(live["spec"]["template"], plan.current_template):
        return f"{what} got a new pod template after the rollback was planned: something was deployed"
    return None


def _already_restored(live: Mapping[str, Any], plan: RollbackPlan, markers: Mapping[str, str]) -> bool:
    """The live workload holds the restored template and this apply's own markers: a PATCH of ours landed."""
    annotations = live["metadata"].get("annotations") or {}
    return semantic_equal(live["spec"]["template"], plan.restored_template) and all(
        annotations.get(key) == markers[key] for key in (ROLLED_BACK_FROM, ROLLED_BACK_AT)
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
