"""The release rolled out: complete as `kubectl rollout status` judges it, and its new pods are not restarting."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any

import pytest

from rollcheck.target import Release
from rollcheck.target import TargetKind
from rollcheck.target import TargetRef

if TYPE_CHECKING:
    from rollcheck.kube import Kube

pytestmark = pytest.mark.rollcheck_check(category="rollout")


def test_rollout_complete(release: Release, kube: Kube) -> None:
    # Imported here: collecting the checks of a health-only run must not load the kubernetes client.
    from rollcheck import MeasurementError
    from rollcheck.kube import rollout_status

    unmeasurable = []
    # The run already waited (up to --rollout-timeout) for the rollout before reading the release: judge it now.
    for workload in _workloads(release):
        live = kube.get_raw(workload.kind.value, workload.name, release.namespace)
        strategy = _strategy_without_rollout_status(workload, live)
        if strategy is not None:
            unmeasurable.append(
                f"{workload} in namespace {release.namespace} has updateStrategy {strategy}: its pods change only "
                "when deleted, and `kubectl rollout status` is only available for RollingUpdate, so whether it "
                "rolled out cannot be measured"
            )
            continue
        status = rollout_status(live)
        # kubectl's own words: "exceeded its progress deadline", "timed out after …: n of m updated replicas …".
        done, message = status.done, f"{workload} in namespace {release.namespace}: {status.message}"
        assert done, message
    if unmeasurable:
        # Inconclusive, not failed: nothing went wrong that a rollback would fix, the check just cannot tell.
        raise MeasurementError("; ".join(unmeasurable))


def test_new_pods_not_restarting(release: Release, kube: Kube) -> None:
    from rollcheck.kube import pods_restarting

    problems = [
        str(problem)
        for selector in _new_pod_selectors(release, kube)
        for problem in pods_restarting(kube, release.namespace, None, selector=selector)
    ]
    count = len(problems)
    assert count == 0, (
        f"{count} container(s) of {release.target}'s new revision are crash-looping or restarting: "
        + "; ".join(problems)
    )


def _workloads(release: Release) -> tuple[TargetRef, ...]:
    """A Helm release is judged by the workloads of its manifest; any other target is its own workload."""
    return release.workloads if release.target.kind is TargetKind.HELM else (release.target,)


def _strategy_without_rollout_status(workload: TargetRef, live: Mapping[str, Any]) -> str | None:
    """A StatefulSet's or DaemonSet's update strategy when it is not RollingUpdate (OnDelete), else None."""
    if workload.kind not in (TargetKind.STATEFULSET, TargetKind.DAEMONSET):
        return None
    strategy = ((live.get("spec") or {}).get("updateStrategy") or {}).get("type")
    return None if strategy == "RollingUpdate" else str(strategy)


def _new_pod_selectors(release: Release, kube: Kube) -> list[str]:
    """A label selector of each workload's new pods: a Deployment's newest ReplicaSet's pod-template-hash, a
    StatefulSet's or DaemonSet's current ControllerRevision. The verified Deployment's hash was read with the
    release; a Helm release's workloads are read now."""
    from rollcheck.kube import POD_TEMPLATE_HASH

    if release.target.kind is TargetKind.DEPLOYMENT:
        return [f"{POD_TEMPLATE_HASH}={release.template_hash}"] if release.template_hash else []
    selectors = [_new_pods_of(workload, release.namespace, kube) for workload in _workloads(release)]
    return [selector for selector in selectors if selector is not None]


def _new_pods_of(workload: TargetRef, namespace: str, kube: Kube) -> str | None:
    """The selector of the workload's pods at its current revision; None before there is one."""
    from rollcheck.kube import POD_TEMPLATE_HASH
    from rollcheck.kube import current_controller_revision
    from rollcheck.kube import find_new_replica_set
    from rollcheck.kube import owned_controller_revisions
    from rollcheck.kube import owned_replica_sets
    from rollcheck.kube import revision_pod_selector

    live = kube.get_raw(workload.kind.value, workload.name, namespace)
    if workload.kind is TargetKind.DEPLOYMENT:
        new_rs = find_new_replica_set(live, owned_replica_sets(kube, live)) or {}
        template_hash = (new_rs.get("metadata", {}).get("labels") or {}).get(POD_TEMPLATE_HASH)
        return f"{POD_TEMPLATE_HASH}={template_hash}" if template_hash else None
    current = current_controller_revision(live, owned_controller_revisions(kube, live))
    return revision_pod_selector(live, current) if current is not None else None
