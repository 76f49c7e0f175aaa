"""The rollout checks against StatefulSets and DaemonSets on the local control plane: a crash-looping pod at the
new ControllerRevision fails them, and an OnDelete workload (which `kubectl rollout status` cannot judge) makes
the rollout check inconclusive, not failed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from check_runs import ChecksRun

from localenv_support import LocalEnv
from localenv_support import eventually
from revisioned_workloads import KINDS
from revisioned_workloads import Workloads
from revisioned_workloads import demo_workload
from rollcheck.kube import Kube
from rollcheck.target import TargetKind
from rollcheck.target import TargetRef

ROLLOUT_CHECKS = "test_rollout_complete or test_new_pods_not_restarting"


@pytest.fixture
def workloads(rollcheck_kube: Kube, namespace: str, localenv: LocalEnv) -> Workloads:
    return Workloads(rollcheck_kube, namespace, localenv)


@pytest.fixture
def run_rollout_checks(run_checks: Callable[..., ChecksRun], workloads: Workloads) -> Callable[[TargetRef], ChecksRun]:
    """Only the two rollout checks against `target`, never rolling back, waiting at most 5s for its rollout."""

    def run(target: TargetRef) -> ChecksRun:
        return run_checks(
            f"--rollcheck-target={target}",
            f"--rollcheck-namespace={workloads.namespace}",
            f"--rollcheck-kubeconfig={workloads.localenv.kubeconfig}",
            "--rollcheck-rollout-timeout=5s",
            "--rollcheck-no-rollback",
            "-k",
            ROLLOUT_CHECKS,
        )

    return run


def _outcomes(run: ChecksRun) -> dict[str, str]:
    return {c["id"].rsplit("::", 1)[1]: c["outcome"] for c in run.report["checks"]}


def _restarted(workloads: Workloads, pod: str) -> bool:
    found = workloads.kube.list_raw("pod", workloads.namespace, field_selector=f"metadata.name={pod}")
    statuses = [status for item in found for status in (item.get("status") or {}).get("containerStatuses") or []]
    return any(int(status.get("restartCount") or 0) > 0 for status in statuses)


def test_a_crash_looping_pod_at_the_new_revision_fails_the_statefulset(
    workloads: Workloads, run_rollout_checks: Callable[[TargetRef], ChecksRun]
) -> None:
    target = TargetRef(TargetKind.STATEFULSET, "crashing")
    workloads.deploy(target, "v1", replicas=1)
    workloads.set_release(target, "v2", env={"DEMO_CRASH": "1"})
    eventually(lambda: _restarted(workloads, "crashing-0"), timeout=60, what="crashing-0 crash-looping at v2")

    run = run_rollout_checks(target)

    outcomes = _outcomes(run)
    assert outcomes == {"test_rollout_complete": "failed", "test_new_pods_not_restarting": "failed"}, outcomes
    restarting = run.check("test_new_pods_not_restarting")["message"]
    assert "of statefulset/crashing's new revision are crash-looping or restarting: crashing-0/app: " in restarting
    assert run.result.ret == 1


@pytest.mark.parametrize("kind", KINDS)
def test_an_on_delete_workload_makes_the_rollout_check_inconclusive(
    kind: TargetKind, workloads: Workloads, run_rollout_checks: Callable[[TargetRef], ChecksRun]
) -> None:
    target = TargetRef(kind, f"ondelete-{kind.value[:3]}")
    manifest = demo_workload(kind, target.name, "v1", replicas=1)
    manifest["spec"]["updateStrategy"] = {"type": "OnDelete"}
    workloads.kube.create_raw(kind.value, workloads.namespace, manifest)
    # `kubectl rollout status` refuses OnDelete workloads, so wait for the pod to be Ready instead.
    eventually(lambda: _all_ready(workloads, target.name), timeout=60, what=f"{target}'s pod to be Ready")

    run = run_rollout_checks(target)

    outcomes = _outcomes(run)
    assert outcomes == {"test_rollout_complete": "inconclusive", "test_new_pods_not_restarting": "passed"}, outcomes
    message = run.check("test_rollout_complete")["message"]
    assert f"{target} in namespace {workloads.namespace} has updateStrategy OnDelete" in message
    assert "only available for RollingUpdate" in message
    assert run.result.ret == 7, "an inconclusive verdict exits 7"


def _all_ready(workloads: Workloads, app: str) -> bool:
    pods = workloads.kube.list_raw("pod", workloads.namespace, f"app={app}")
    return bool(pods) and all(_ready(pod) for pod in pods)


def _ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
