"""Rollout status as `kubectl rollout status` judges it, a bounded wait for it, and restarting pods.

`rollout_status` is kubectl's `DeploymentStatusViewer.Status` (pkg/polymorphichelpers/rollout_status.go,
docs/kubernetes.md A.4), message for message. `wait_for_rollout` watches the single object as kubectl does
(list + watch with `fieldSelector=metadata.name=…`), re-listing whenever a watch drops or expires.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._errors import ClusterUnavailable
from .._errors import KubernetesError
from .._errors import truncate
from ..target import TargetKind
from ..target import TargetRef
from ._client import Kube
from ._errors import UnsupportedKind
from ._replicasets import POD_TEMPLATE_HASH
from ._replicasets import parse_revision

__all__ = ["PodProblem", "RolloutStatus", "pods_restarting", "rollout_status", "wait_for_rollout"]

log = logging.getLogger("rollcheck.kube")

#: Waiting reasons that mean a container cannot start, as opposed to ContainerCreating or PodInitializing.
_BAD_WAITING = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)
#: The longest single watch; the server ends it and the loop re-watches from the last version seen.
_MAX_WATCH_SECONDS = 60
#: Pause before re-listing after a dropped watch, so a flapping API server is not hammered.
_RECONNECT_PAUSE = 0.5


@dataclass(frozen=True)
class RolloutStatus:
    """Where a rollout stands."""

    done: bool
    """True once `kubectl rollout status` would print "successfully rolled out"."""
    failed: bool
    """True when kubectl would exit with an error: progress deadline exceeded, wrong revision, object deleted."""
    message: str
    """kubectl's message (without its trailing newline), or why the wait ended."""


@dataclass(frozen=True)
class PodProblem:
    """A container of the new revision that restarted or cannot start."""

    pod: str
    """Pod name."""
    container: str
    """Container name."""
    restarts: int
    """Its restartCount."""
    reason: str | None
    """Why it is waiting (CrashLoopBackOff, ImagePullBackOff …) or last terminated (OOMKilled, Error)."""

    def __str__(self) -> str:
        return f"{self.pod}/{self.container}: {self.restarts} restart(s)" + (f", {self.reason}" if self.reason else "")


def rollout_status(deployment: Mapping[str, Any], revision: int | None = None) -> RolloutStatus:
    """kubectl's Deployment status function on a raw Deployment; `revision` is `--revision`."""
    metadata = deployment.get("metadata") or {}
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    name = metadata.get("name", "")
    if revision is not None and revision > 0:
        current = parse_revision(deployment)
        if current is None:
            return RolloutStatus(False, True, f'cannot get the revision of deployment "{name}"')
        if current != revision:
            return RolloutStatus(
                False, True, f"desired revision ({revision}) is different from the running revision ({current})"
            )
    if metadata.get("generation", 0) > status.get("observedGeneration", 0):
        return RolloutStatus(False, False, "Waiting for deployment spec update to be observed...")
    progressing = next((c for c in status.get("conditions") or [] if c.get("type") == "Progressing"), None)
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        return RolloutStatus(False, True, f'deployment "{name}" exceeded its progress deadline')
    wanted = f'Waiting for deployment "{name}" rollout to finish: '
    replicas = spec.get("replicas")
    updated = status.get("updatedReplicas", 0)
    if replicas is not None and updated < replicas:
        return RolloutStatus(False, False, f"{wanted}{updated} out of {replicas} new replicas have been updated...")
    total = status.get("replicas", 0)
    if total > updated:
        return RolloutStatus(False, False, f"{wanted}{total - updated} old replicas are pending termination...")
    available = status.get("availableReplicas", 0)
    if available < updated:
        return RolloutStatus(False, False, f"{wanted}{available} of {updated} updated replicas are available...")
    return RolloutStatus(True, False, f'deployment "{name}" successfully rolled out')


def wait_for_rollout(
    kube: Kube,
    target: TargetRef,
    namespace: str,
    *,
    timeout: float,
    revision: int | None = None,
) -> RolloutStatus:
    """Watch until the rollout is done or failed, or `timeout` seconds pass (then done=False, failed=False).

    A dropped or expired watch, or an API server that is briefly away, is re-listed and re-watched until the
    deadline. Errors no retry can fix (Forbidden, NotFound …) are raised, as they end kubectl's wait.
    """
    if target.kind is not TargetKind.DEPLOYMENT:
        raise UnsupportedKind(f"{target.kind.value} targets come later: only deployment rollouts can be watched")
    deadline = time.monotonic() + timeout
    selector = f"metadata.name={target.name}"
    status = RolloutStatus(False, False, f'waiting for deployment "{target.name}"')
    while True:
        try:
            items, version = kube.list_versioned("deployment", namespace, field_selector=selector)
            if not items:
                return RolloutStatus(False, True, f'deployment "{target.name}" not found in namespace {namespace}')
            status = rollout_status(items[0], revision)
            while not (status.done or status.failed):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return _timed_out(status, timeout)
                seconds = max(1, min(_MAX_WATCH_SECONDS, math.ceil(remaining)))
                events = kube.watch_raw(
                    "deployment", namespace, resource_version=version, timeout_seconds=seconds, field_selector=selector
                )
                # closing(): leaving the loop early must close the watch's connection now, not at garbage collection.
                with contextlib.closing(events):
                    for event in events:
                        obj = event.get("object") or {}
                        version = (obj.get("metadata") or {}).get("resourceVersion") or version
                        if event.get("type") == "DELETED":
                            return RolloutStatus(False, True, f'deployment "{target.name}" was deleted')
                        if event.get("type") in ("ADDED", "MODIFIED"):
                            status = rollout_status(obj, revision)
                            if status.done or status.failed or time.monotonic() >= deadline:
                                break
            return status
        except (ClusterUnavailable, KubernetesError) as error:
            # 410 Gone (the version expired) and dropped connections: start over from a fresh list. Errors that
            # will not pass (403, 404 …) still end the wait, as they would end kubectl's.
            if isinstance(error, KubernetesError) and error.status not in (410, 429) and error.status < 500:
                raise
            if time.monotonic() + _RECONNECT_PAUSE >= deadline:
                return _timed_out(status, timeout)
            log.info("watch of deployment %s/%s interrupted; re-listing: %s", namespace, target.name, error)
            time.sleep(_RECONNECT_PAUSE)


def pods_restarting(kube: Kube, namespace: str, template_hash: str | None) -> list[PodProblem]:
    """Containers of the pods with this pod-template-hash (the new revision) that restarted or cannot start.
    Without a hash (no new ReplicaSet yet) there are no such pods."""
    if not template_hash:
        return []
    problems = []
    for pod in kube.list_raw("pod", namespace, f"{POD_TEMPLATE_HASH}={template_hash}"):
        pod_status = pod.get("status") or {}
        statuses = [*(pod_status.get("initContainerStatuses") or []), *(pod_status.get("containerStatuses") or [])]
        for container in statuses:
            restarts = int(container.get("restartCount") or 0)
            waiting = ((container.get("state") or {}).get("waiting") or {}).get("reason")
            terminated = ((container.get("lastState") or {}).get("terminated") or {}).get("reason")
            if restarts > 0 or waiting in _BAD_WAITING:
                reason = waiting if waiting in _BAD_WAITING else terminated
                problems.append(PodProblem(pod["metadata"]["name"], container.get("name", ""), restarts, reason))
    return problems


def _timed_out(last: RolloutStatus, timeout: float) -> RolloutStatus:
    return RolloutStatus(False, False, truncate(f"timed out after {timeout:g}s: {last.message}"))
