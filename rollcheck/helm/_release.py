"""Read the release under test. A Helm release: its current revision from helm, its workloads' rollouts from the
cluster. Any other target: the workload itself, through the Kubernetes reader.

The kind dispatch lives here, in the one reader package that knows both helm and the cluster, so that
`rollcheck run` (the plugin) and `rollcheck serve` read every kind of target the same way.
"""

from __future__ import annotations

import datetime
import time

from ..kube import Kube
from ..kube import UnsupportedKind
from ..kube import read_release
from ..kube import wait_for_rollout
from ..target import Release
from ..target import TargetKind
from ..target import TargetRef
from ..target import version_from_image
from ._client import Helm
from ._manifest import Workload
from ._manifest import manifest_workloads

__all__ = ["read_helm_release", "read_target_release"]


def read_target_release(kube: Kube, helm: Helm, target: TargetRef, namespace: str, *, wait: float) -> Release:
    """The release `target` runs: read through helm for a Helm release, from the workload for any other kind.
    With `wait` > 0, first wait up to that many seconds for its rollouts to settle (a run judging a fresh
    deploy); with 0, read at once (serve, acting on a release that has been running)."""
    if target.kind is TargetKind.HELM:
        return read_helm_release(helm, kube, target, namespace, timeout=wait)
    if wait > 0:
        wait_for_rollout(kube, target, namespace, timeout=wait)
    return read_release(kube, target, namespace)


def read_helm_release(helm: Helm, kube: Kube, target: TargetRef, namespace: str, *, timeout: float) -> Release:
    """Wait (up to `timeout` seconds in all; 0 does not wait) for the rollouts of the release's workloads, then
    read the release: its revision is the verified one. Raises NotFound if there is no such release."""
    if timeout > 0:
        _wait_for_rollouts(helm, kube, target, namespace, timeout=timeout)
    # Read again after the wait: the revision, the workloads and the images judged are all one snapshot.
    revision, workloads = _current(helm, target, namespace)
    images: list[str] = []
    completed: list[datetime.datetime | None] = []
    unsafe: list[str] = []
    for workload in workloads:
        try:
            live = read_release(kube, workload.target, namespace)
        except UnsupportedKind:
            images += workload.images
            continue
        images += live.images  # what runs, not only what was rendered: --expect-image judges what runs
        completed.append(live.rollout_completed_at)
        unsafe += [live.rollback_unsafe] if live.rollback_unsafe else []
    finished = [at for at in completed if at is not None]
    return Release(
        target=target,
        namespace=namespace,
        revision=revision,
        images=tuple(images),
        version=version_from_image(images[0]) if images else None,
        # The release's rollout completed when its last workload's did; unknown while any one is unfinished.
        rollout_completed_at=max(finished) if finished and len(finished) == len(completed) else None,
        workloads=tuple(workload.target for workload in workloads),
        # One workload that declares rolling back unsafe makes the whole release's rollback unsafe.
        rollback_unsafe="; ".join(unsafe) or None,
    )


def _wait_for_rollouts(helm: Helm, kube: Kube, target: TargetRef, namespace: str, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for workload in _current(helm, target, namespace)[1]:
        try:
            wait_for_rollout(kube, workload.target, namespace, timeout=max(0.0, deadline - time.monotonic()))
        except UnsupportedKind:
            continue  # a kind whose rollout rollcheck cannot watch yet is judged by the checks as it is


def _current(helm: Helm, target: TargetRef, namespace: str) -> tuple[int, tuple[Workload, ...]]:
    """The release's current revision and the workloads of its manifest."""
    status = helm.status(target.name, namespace)
    what = f"helm release {namespace}/{target.name} revision {status.revision}"
    return status.revision, manifest_workloads(status.manifest, namespace, what)
