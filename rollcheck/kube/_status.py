"""Rollout status as `kubectl rollout status` judges it, a bounded wait for it, and restarting pods.

`rollout_status` is kubectl's `DeploymentStatusViewer`, `StatefulSetStatusViewer` and `DaemonSetStatusViewer`
(pkg/polymorphichelpers/rollout_status.go, docs/kubernetes.md A.4), message for message. `wait_for_rollout`
watches the single object as kubectl does (list + watch with `fieldSelector=metadata.name=…`), re-listing
whenever a watch drops or expires.
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
from .._errors import RollcheckError
from .._errors import truncate
from ..target import TargetKind
from ..target import TargetRef
from ._client import Kube
from ._errors import UnsupportedKind
from ._replicasets import POD_TEMPLATE_HASH
from ._replicasets import parse_revision
from ._retry import retries_until

__all__ = ["PodProblem", "RolloutStatus", "pod_problems", "pods_restarting", "rollout_status", "wait_for_rollout"]

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


def rollout_status(
    obj: Mapping[str, Any], revision: int | None = None, *, kind: TargetKind | None = None
) -> RolloutStatus:
    """kubectl's status function for the object's kind: `kind`, else its `kind` field (a LIST's items have
    none), else Deployment. `revision` is `--revision`; kubectl ignores it for StatefulSets and DaemonSets."""
    kind = kind or _KINDS.get(str(obj.get("kind")), TargetKind.DEPLOYMENT)
    if kind is TargetKind.STATEFULSET:
        return _statefulset_status(obj)
    if kind is TargetKind.DAEMONSET:
        return _daemonset_status(obj)
    return _deployment_status(obj, revision)


def _deployment_status(deployment: Mapping[str, Any], revision: int | None) -> RolloutStatus:
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


def _statefulset_status(statefulset: Mapping[str, Any]) -> RolloutStatus:
    metadata, spec, status = (statefulset.get(key) or {} for key in ("metadata", "spec", "status"))
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") != "RollingUpdate":
        # kubectl reports this as done and exits with the error: nothing here will ever roll out by itself.
        return RolloutStatus(False, True, "rollout status is only available for RollingUpdate strategy type")
    observed = status.get("observedGeneration", 0)
    if observed == 0 or metadata.get("generation", 0) > observed:
        return RolloutStatus(False, False, "Waiting for statefulset spec update to be observed...")
    replicas = spec.get("replicas")
    ready = status.get("readyReplicas", 0)
    if replicas is not None and ready < replicas:
        return RolloutStatus(False, False, f"Waiting for {replicas - ready} pods to be ready...")
    updated = status.get("updatedReplicas", 0)
    rolling = strategy.get("rollingUpdate")
    if rolling is not None:
        partition = rolling.get("partition")
        if replicas is not None and partition is not None and updated < replicas - partition:
            return RolloutStatus(
                False,
                False,
                f"Waiting for partitioned roll out to finish: {updated} out of {replicas - partition} new pods "
                "have been updated...",
            )
        return RolloutStatus(True, False, f"partitioned roll out complete: {updated} new pods have been updated...")
    update_revision, current_revision = status.get("updateRevision", ""), status.get("currentRevision", "")
    if update_revision != current_revision:
        return RolloutStatus(
            False,
            False,
            f"waiting for statefulset rolling update to complete {updated} pods at revision {update_revision}...",
        )
    current = status.get("currentReplicas", 0)
    return RolloutStatus(
        True, False, f"statefulset rolling update complete {current} pods at revision {current_revision}..."
    )


def _daemonset_status(daemonset: Mapping[str, Any]) -> RolloutStatus:
    metadata, spec, status = (daemonset.get(key) or {} for key in ("metadata", "spec", "status"))
    name = metadata.get("name", "")
    if (spec.get("updateStrategy") or {}).get("type") != "RollingUpdate":
        # kubectl names the StatefulSet constant here; both are "RollingUpdate".
        return RolloutStatus(False, True, "rollout status is only available for RollingUpdate strategy type")
    if metadata.get("generation", 0) > status.get("observedGeneration", 0):
        return RolloutStatus(False, False, "Waiting for daemon set spec update to be observed...")
    desired = status.get("desiredNumberScheduled", 0)
    updated = status.get("updatedNumberScheduled", 0)
    wanted = f'Waiting for daemon set "{name}" rollout to finish: '
    if updated < desired:
        return RolloutStatus(False, False, f"{wanted}{updated} out of {desired} new pods have been updated...")
    available = status.get("numberAvailable", 0)
    if available < desired:
        return RolloutStatus(False, False, f"{wanted}{available} of {desired} updated pods are available...")
    return RolloutStatus(True, False, f'daemon set "{name}" successfully rolled out')


#: The `kind` field of each object rollout_status judges.
_KINDS = {"Deployment": TargetKind.DEPLOYMENT, "StatefulSet": TargetKind.STATEFULSET, "DaemonSet": TargetKind.DAEMONSET}


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
    kind = target.kind
    if kind not in _KINDS.values():
        raise UnsupportedKind(f"{kind.value} targets have no rollout of their own to watch")
    deadline = time.monotonic() + timeout
    # Every read and watch stops retrying at the deadline, so a hanging API server cannot hold the wait a whole
    # retry budget (five request timeouts) past its timeout.
    with retries_until(deadline):
        return _watch_until(kube, target, namespace, deadline=deadline, timeout=timeout, revision=revision)


def _watch_until(
    kube: Kube, target: TargetRef, namespace: str, *, deadline: float, timeout: float, revision: int | None
) -> RolloutStatus:
    kind = target.kind
    selector = f"metadata.name={target.name}"
    status = RolloutStatus(False, False, f'waiting for {kind.value} "{target.name}"')
    while True:
        try:
            items, version = kube.list_versioned(kind.value, namespace, field_selector=selector)
            if not items:
                return RolloutStatus(False, True, f'{kind.value} "{target.name}" not found in namespace {namespace}')
            status = rollout_status(items[0], revision, kind=kind)
            while not (status.done or status.failed):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return _timed_out(status, timeout)
                seconds = max(1, min(_MAX_WATCH_SECONDS, math.ceil(remaining)))
                events = kube.watch_raw(
                    kind.value, namespace, resource_version=version, timeout_seconds=seconds, field_selector=selector
                )
                # closing(): leaving the loop early must close the watch's connection now, not at garbage collection.
                with contextlib.closing(events):
                    for event in events:
                        obj = event.get("object") or {}
                        version = (obj.get("metadata") or {}).get("resourceVersion") or version
                        if event.get("type") == "DELETED":
                            return RolloutStatus(False, True, f'{kind.value} "{target.name}" was deleted')
                        if event.get("type") in ("ADDED", "MODIFIED"):
                            status = rollout_status(obj, revision, kind=kind)
                            if status.done or status.failed or time.monotonic() >= deadline:
                                break
            return status
        except (ClusterUnavailable, KubernetesError) as error:
            # 410 Gone (the version expired) and dropped connections: start over from a fresh list. Errors that
            # will not pass (403, 404 …) still end the wait, as they would end kubectl's.
            if isinstance(error, KubernetesError) and error.status not in (410, 429) and error.status < 500:
                raise
            if time.monotonic() + _RECONNECT_PAUSE >= deadline:
                return _timed_out(status, timeout, unread_because=error)
            log.info("watch of %s %s/%s interrupted; re-listing: %s", kind.value, namespace, target.name, error)
            time.sleep(_RECONNECT_PAUSE)


def pods_restarting(
    kube: Kube, namespace: str, template_hash: str | None, *, selector: str | None = None
) -> list[PodProblem]:
    """Containers of the pods with this pod-template-hash (the new revision), or matching the label `selector`
    (a StatefulSet's or DaemonSet's revision), that restarted or cannot start. Without either (no new
    ReplicaSet yet) there are no such pods."""
    selector = selector or (f"{POD_TEMPLATE_HASH}={template_hash}" if template_hash else None)
    if not selector:
        return []
    return [problem for pod in kube.list_raw("pod", namespace, selector) for problem in pod_problems(pod)]


def pod_problems(pod: Mapping[str, Any]) -> list[PodProblem]:
    """The pod's containers that restarted or cannot start."""
    problems = []
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


def _timed_out(last: RolloutStatus, timeout: float, *, unread_because: RollcheckError | None = None) -> RolloutStatus:
    """The wait ran out. When it ends on a failed read, that failure is the news: the last status seen may be
    old or only the initial "waiting for", and would hide that the API server never answered."""
    reason = f"; the last attempt to read it failed: {unread_because}" if unread_because is not None else ""
    return RolloutStatus(False, False, truncate(f"timed out after {timeout:g}s: {last.message}{reason}", limit=500))
