"""The StatefulSet caveat kubectl leaves to its user (kubernetes/kubernetes#67250): after an undo, a pod that
crash-loops at the broken revision blocks an OrderedReady StatefulSet forever. rollcheck's wait names it and the
way out instead of waiting out its timeout, and the way out it names works."""

from __future__ import annotations

import time

import pytest

from localenv_support import LocalEnv
from localenv_support import eventually
from revisioned_workloads import Workloads
from rollcheck.kube import Kube
from rollcheck.kube import read_release
from rollcheck.rollback import engine_for
from rollcheck.rollback import stuck_pods
from rollcheck.target import TargetKind
from rollcheck.target import TargetRef


@pytest.fixture
def workloads(rollcheck_kube: Kube, namespace: str, localenv: LocalEnv) -> Workloads:
    return Workloads(rollcheck_kube, namespace, localenv)


def crash_looping(workloads: Workloads, pod: str) -> bool:
    # No pod at all while the StatefulSet controller replaces it with the new revision's: not crash-looping yet.
    found = workloads.kube.list_raw("pod", workloads.namespace, field_selector=f"metadata.name={pod}")
    statuses = [status for each in found for status in (each.get("status") or {}).get("containerStatuses") or []]
    return any(int(status.get("restartCount") or 0) > 0 for status in statuses)


def test_a_pod_stuck_at_the_broken_revision_is_named_with_the_way_out(workloads: Workloads) -> None:
    target = TargetRef(TargetKind.STATEFULSET, "stuck")
    workloads.deploy(target, "v1", replicas=2)
    workloads.set_release(target, "v2", env={"DEMO_CRASH": "1"})
    # The highest ordinal is updated first, crash-loops, and the rollout stops there.
    eventually(lambda: crash_looping(workloads, "stuck-1"), timeout=60, what="stuck-1 crash-looping at v2")
    verified = read_release(workloads.kube, target, workloads.namespace)
    engine = engine_for(TargetKind.STATEFULSET, workloads.kube)

    plan = engine.plan(target, workloads.namespace, verified, reason="rollout did not complete")
    engine.apply(plan, dry_run=False)
    started = time.monotonic()
    status = engine.wait(plan, timeout=120)
    waited = time.monotonic() - started

    assert (plan.from_version, plan.to_version) == ("v2", "v1")
    assert status.failed
    assert not status.done
    assert waited < 60, "a stuck pod ends the wait; it does not run out the timeout"
    assert 'statefulset "stuck" is stuck: pod(s) stuck-1 (revision stuck-' in status.message
    assert "CrashLoopBackOff" in status.message or "Error" in status.message
    assert "kubernetes/kubernetes#67250" in status.message
    assert status.message.endswith(f"kubectl delete pod -n {workloads.namespace} stuck-1")
    assert [name for name, _ in stuck_pods(workloads.kube, workloads.get(target))] == ["stuck-1"]

    # The way out the message gives: the controller recreates the pod at the restored revision.
    workloads.kubectl("delete", "pod", "stuck-1")
    workloads.wait(target)
    assert engine.wait(plan, timeout=30).done
    assert stuck_pods(workloads.kube, workloads.get(target)) == []


def test_a_healthy_rollback_finds_nothing_stuck(workloads: Workloads) -> None:
    target = TargetRef(TargetKind.STATEFULSET, "unstuck")
    workloads.deploy(target, "v1", "v2", replicas=2)
    engine = engine_for(TargetKind.STATEFULSET, workloads.kube)
    plan = engine.plan(target, workloads.namespace, read_release(workloads.kube, target, workloads.namespace))

    engine.apply(plan, dry_run=False)
    status = engine.wait(plan, timeout=90)

    assert status.done, status.message
    assert status.message == "partitioned roll out complete: 2 new pods have been updated..."
    assert workloads.image(target) == "rollcheck-demo:v1"
