"""`kubectl rollout undo deployment/NAME`, step for step (docs/kubernetes.md A.1), made safe to automate.

Beyond kubectl:
- the freeze, asked again: a Deployment annotated `rollcheck.dev/rollback: unsafe` when the plan (or apply)
  reads it is not rolled back, even if the annotation came after the run read the release;
- the guard: a Deployment deployed again (revision or pod template changed) or recreated (uid changed) after
  the verified release is never rolled back: the plan is skipped with a reason. A generation change alone
  (scaling, an HPA) does not trip it while the pod template is still the verified one;
- the patch puts a `test` of the resourceVersion the plan read first: a write since that read makes the server
  refuse it (422) instead of being overwritten, so apply sends the plan's patch without reading again. After a
  refusal apply reads, asks the freeze and the guard again, and computes kubectl's patch from what is there
  now, behind a test of that resourceVersion: an unrelated write (status, a scale, a label) is patched around,
  up to three PATCHes in all; a deploy since the plan is a skip; persistent contention ends as Conflict;
- rollcheck's marker annotations (`rollcheck.dev/rolled-back-from`, `…/rollback-reason`, `…/rolled-back-at`)
  are `add` ops appended to the same JSON patch by `apply`, after kubectl's two replace ops: one atomic
  request, so the Deployment is never rolled back without saying so. They are annotations, so the deployment
  controller copies them onto the restored ReplicaSet as it does every Deployment annotation;
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
from .._errors import RollbackImpossible
from ..kube import POD_TEMPLATE_HASH
from ..kube import Kube
from ..kube import RolloutStatus
from ..kube import annotated_revision
from ..kube import equal_ignore_hash
from ..kube import find_new_replica_set
from ..kube import owned_replica_sets
from ..kube import template_images
from ..kube import wait_for_rollout
from ..target import Release
from ..target import TargetRef
from ..target import version_from_image
from ._engine import AppliedRollback
from ._engine import RollbackPlan
from ._engine import freeze
from ._engine import frozen_skip
from ._engine import read_back_after_lost_answers
from ._engine import skipped
from ._templates import ANNOTATIONS_TO_SKIP
from ._templates import MARKER_PREFIX
from ._templates import PAUSED_MESSAGE
from ._templates import guarded_patch
from ._templates import marker_ops
from ._templates import rollback_annotations
from ._templates import select_revision

__all__ = ["DeploymentRollback"]

log = logging.getLogger("rollcheck.rollback")

#: How often apply reads and patches when other writes (status, a scale, a label) keep landing in between.
_ATTEMPTS = 3


class DeploymentRollback:
    """The Deployment rollback engine (implements RollbackEngine)."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    def plan(self, target: TargetRef, namespace: str, verified: Release, *, reason: str = "") -> RollbackPlan:
        if (verified.target, verified.namespace) != (target, namespace):
            raise ValueError(
                f"the verified release is {verified.namespace}/{verified.target}, not {namespace}/{target}"
            )
        deployment = self.kube.get_raw("deployment", target.name, namespace)
        metadata = deployment["metadata"]
        template = deployment["spec"]["template"]
        images = template_images(template)
        owned = owned_replica_sets(self.kube, deployment)
        plan = RollbackPlan(
            target=target,
            namespace=namespace,
            from_revision=annotated_revision(deployment),
            to_revision=None,
            from_images=images,
            to_images=(),
            from_version=version_from_image(images[0]) if images else None,
            to_version=None,
            patch=(),
            reason=reason,
            uid=metadata["uid"],
            current_template=template,
        )
        unsafe = freeze(deployment, target, namespace)
        if unsafe is not None:
            return dataclasses.replace(plan, skip_reason=frozen_skip(unsafe), frozen_reason=unsafe)
        changed = _changed_since_verified(deployment, owned, verified)
        if changed is not None:
            return dataclasses.replace(plan, skip_reason=changed)
        replica_set, to_revision = select_revision(deployment, owned)
        if deployment["spec"].get("paused"):
            raise RollbackImpossible(PAUSED_MESSAGE)
        restored = replica_set["spec"]["template"]
        to_images = template_images(restored)
        plan = dataclasses.replace(
            plan,
            to_revision=to_revision,
            to_images=to_images,
            to_version=version_from_image(to_images[0]) if to_images else None,
        )
        if equal_ignore_hash(restored, template):
            # kubectl prints the --to-revision it was given (0 by default); the real revision says more.
            skip = f"skipped rollback (current template already matches revision {to_revision})"
            return dataclasses.replace(plan, skip_reason=skip)
        restored_annotations = replica_set["metadata"].get("annotations") or {}
        annotations = rollback_annotations(metadata.get("annotations"), restored_annotations)
        patch = guarded_patch(metadata["resourceVersion"], restored, annotations)
        return dataclasses.replace(
            plan, patch=tuple(patch), restored_template=restored, restored_annotations=restored_annotations
        )

    def apply(self, plan: RollbackPlan, *, dry_run: bool) -> AppliedRollback:
        now = _now()
        if plan.skip_reason is not None:
            return skipped(plan, dry_run=dry_run, reason=plan.skip_reason, frozen=plan.frozen_reason, issued_at=now)
        name, namespace = plan.target.name, plan.namespace
        issued_at = _now()
        markers = marker_ops(
            from_revision=plan.from_revision, from_version=plan.from_version, reason=plan.reason, at=issued_at
        )
        for attempt in range(1, _ATTEMPTS + 1):
            if attempt == 1:
                # The plan's own read, not a second one: the plan ran the guard, the freeze and the paused check
                # on that object, and its patch tests that object's resourceVersion, so any write since (a deploy,
                # a freeze annotation, a pause) makes the server refuse this PATCH, and the next attempt reads.
                patch = (*plan.patch, *markers)
            else:
                live = self.kube.get_raw("deployment", name, namespace)
                if not dry_run and _already_restored(live, plan):
                    # The previous PATCH landed but its answer was lost: that attempt was the rollback.
                    log.info("deployment %s/%s was already restored by the previous attempt", namespace, name)
                    return AppliedRollback(
                        plan=plan, dry_run=dry_run, patch=(), issued_at=issued_at, accepted_at=_now(), result=live
                    )
                refused = self._refusal(live, plan, dry_run=dry_run, started_at=now)
                if refused is not None:
                    return refused
                # kubectl's patch, computed as kubectl would compute it now, behind a test of the resourceVersion
                # just read: a write between this read and the PATCH makes the server refuse it (422).
                annotations = rollback_annotations(live["metadata"].get("annotations"), plan.restored_annotations)
                restored = guarded_patch(live["metadata"]["resourceVersion"], plan.restored_template, annotations)
                patch = (*restored, *markers)
            try:
                result = self.kube.patch_raw(
                    "deployment", name, namespace, list(patch), plan.patch_type, dry_run=dry_run
                )
            except Conflict:
                if attempt < _ATTEMPTS:
                    continue  # something wrote the Deployment in between (status, a scale, a label, a deploy)
                if not dry_run and _already_restored(self.kube.get_raw("deployment", name, namespace), plan):
                    # This PATCH landed, its answer was lost and the client's replay failed its own test op.
                    return AppliedRollback(
                        plan=plan, dry_run=dry_run, patch=patch, issued_at=issued_at, accepted_at=_now()
                    )
                raise
            except ClusterUnavailable as error:
                if dry_run:
                    raise
                landed = functools.partial(_already_restored, plan=plan)
                return read_back_after_lost_answers(
                    self.kube, plan, restored=landed, patch=patch, issued_at=issued_at, lost=error
                )
            return AppliedRollback(
                plan=plan, dry_run=dry_run, patch=patch, issued_at=issued_at, accepted_at=_now(), result=result
            )
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _refusal(
        self, live: Mapping[str, Any], plan: RollbackPlan, *, dry_run: bool, started_at: datetime.datetime
    ) -> AppliedRollback | None:
        """The skip when the live Deployment is frozen or was redeployed or recreated since the plan; raises
        RollbackImpossible when it is paused; None when it may be patched."""
        name, namespace = plan.target.name, plan.namespace
        unsafe = freeze(live, plan.target, namespace)
        if unsafe is not None:
            log.warning("not rolling back deployment %s/%s: %s", namespace, name, unsafe)
            return skipped(plan, dry_run=dry_run, reason=frozen_skip(unsafe), frozen=unsafe, issued_at=started_at)
        changed = _changed_since_plan(live, plan)
        if changed is not None:
            log.warning("not rolling back deployment %s/%s: %s", namespace, name, changed)
            return skipped(plan, dry_run=dry_run, reason=changed, issued_at=started_at)
        if live["spec"].get("paused"):
            raise RollbackImpossible(PAUSED_MESSAGE)
        return None

    def wait(self, plan: RollbackPlan, *, timeout: float) -> RolloutStatus:
        return wait_for_rollout(self.kube, plan.target, plan.namespace, timeout=timeout)


def _changed_since_verified(
    deployment: Mapping[str, Any], owned: list[dict[str, Any]], verified: Release
) -> str | None:
    """Why the Deployment is no longer the verified release (so it must not be rolled back), or None."""
    metadata = deployment["metadata"]
    what = f"deployment {metadata['namespace']}/{metadata['name']}"
    if verified.uid is not None and metadata["uid"] != verified.uid:
        return f"{what} was deleted and recreated after it was verified (uid {verified.uid} → {metadata['uid']})"
    revision = annotated_revision(deployment)
    if verified.revision is not None and revision != verified.revision:
        return (
            f"{what} is at revision {revision}, not the verified revision {verified.revision}: "
            "something was deployed after the release under test"
        )
    generation = metadata.get("generation")
    if verified.generation is not None and generation != verified.generation:
        # A scale (an HPA, say) moves the generation too; only a changed pod template is a new deploy.
        new_rs = find_new_replica_set(deployment, owned)
        template_hash = ((new_rs or {}).get("metadata", {}).get("labels") or {}).get(POD_TEMPLATE_HASH)
        if verified.template_hash is None or template_hash != verified.template_hash:
            return (
                f"{what} changed after it was verified (generation {verified.generation} → {generation}) and its "
                "pod template is no longer the verified one: something was deployed after the release under test"
            )
    return None


def _changed_since_plan(live: Mapping[str, Any], plan: RollbackPlan) -> str | None:
    """Why the Deployment must not be patched any more (redeployed or recreated since the plan), or None.
    Any other write since the plan is caught by the patch's resourceVersion test (Conflict)."""
    metadata = live["metadata"]
    what = f"deployment {plan.namespace}/{plan.target.name}"
    if metadata["uid"] != plan.uid:
        return f"{what} was deleted and recreated after the rollback was planned (uid {plan.uid} → {metadata['uid']})"
    revision = annotated_revision(live)
    if revision != plan.from_revision:
        return f"{what} moved from revision {plan.from_revision} to {revision} after the rollback was planned"
    if not equal_ignore_hash(live["spec"]["template"], plan.current_template):
        return f"{what} got a new pod template after the rollback was planned: something was deployed"
    return None


def _already_restored(live: Mapping[str, Any], plan: RollbackPlan) -> bool:
    ops = {op["path"]: op.get("value") for op in plan.patch}
    template, annotations = ops.get("/spec/template"), ops.get("/metadata/annotations")
    if not isinstance(template, Mapping) or not isinstance(annotations, Mapping):
        return False
    return equal_ignore_hash(live["spec"]["template"], template) and _comparable(
        live["metadata"].get("annotations") or {}
    ) == _comparable(annotations)


def _comparable(annotations: Mapping[str, str]) -> dict[str, str]:
    """Annotations without the skip list (the controller rewrites the revision) and rollcheck's markers."""
    return {k: v for k, v in annotations.items() if k not in ANNOTATIONS_TO_SKIP and not k.startswith(MARKER_PREFIX)}


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
