"""kubectl's StatefulSet and DaemonSet rollout status: message for message on raw objects, then side by side
with the real `kubectl rollout status --watch=false` on the same objects of the local cluster."""

from __future__ import annotations

from typing import Any

import pytest

from localenv_support import LocalEnv
from localenv_support import eventually
from revisioned_workloads import Workloads
from rollcheck.kube import Kube
from rollcheck.kube import RolloutStatus
from rollcheck.kube import rollout_status
from rollcheck.kube import wait_for_rollout
from rollcheck.target import TargetKind
from rollcheck.target import TargetRef

ROLLING = {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
ONLY_ROLLING = RolloutStatus(False, True, "rollout status is only available for RollingUpdate strategy type")


def statefulset(
    *, generation: int = 2, strategy: dict[str, Any] | None = None, replicas: int = 3, **status: Any
) -> dict[str, Any]:
    return {
        "kind": "StatefulSet",
        "metadata": {"name": "db", "generation": generation},
        "spec": {"replicas": replicas, "updateStrategy": ROLLING if strategy is None else strategy},
        "status": {"observedGeneration": 2, **status},
    }


def daemonset(*, generation: int = 2, strategy: str = "RollingUpdate", **status: Any) -> dict[str, Any]:
    return {
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "generation": generation},
        "spec": {"updateStrategy": {"type": strategy}},
        "status": {"observedGeneration": 2, **status},
    }


PARTITION_1 = {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}
NO_ROLLING = {"type": "RollingUpdate"}
OBSERVING = RolloutStatus(False, False, "Waiting for statefulset spec update to be observed...")
DS_WAITING = 'Waiting for daemon set "agent" rollout to finish: '


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (statefulset(strategy={"type": "OnDelete"}), ONLY_ROLLING),
        (statefulset(observedGeneration=0), OBSERVING),
        (statefulset(generation=3), OBSERVING),
        (statefulset(readyReplicas=1), RolloutStatus(False, False, "Waiting for 2 pods to be ready...")),
        (
            statefulset(strategy=PARTITION_1, readyReplicas=3, updatedReplicas=1),
            RolloutStatus(
                False, False, "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated..."
            ),
        ),
        (
            statefulset(strategy=PARTITION_1, readyReplicas=3, updatedReplicas=2),
            RolloutStatus(True, False, "partitioned roll out complete: 2 new pods have been updated..."),
        ),
        # Without rollingUpdate (never so after API defaulting) kubectl compares the revisions instead.
        (
            statefulset(
                strategy=NO_ROLLING, readyReplicas=3, updatedReplicas=1, updateRevision="db-b", currentRevision="db-a"
            ),
            RolloutStatus(
                False, False, "waiting for statefulset rolling update to complete 1 pods at revision db-b..."
            ),
        ),
        (
            statefulset(
                strategy=NO_ROLLING, readyReplicas=3, currentReplicas=3, updateRevision="db-a", currentRevision="db-a"
            ),
            RolloutStatus(True, False, "statefulset rolling update complete 3 pods at revision db-a..."),
        ),
        (daemonset(strategy="OnDelete"), ONLY_ROLLING),
        (daemonset(generation=3), RolloutStatus(False, False, "Waiting for daemon set spec update to be observed...")),
        (
            daemonset(desiredNumberScheduled=3, updatedNumberScheduled=1, numberAvailable=3),
            RolloutStatus(False, False, DS_WAITING + "1 out of 3 new pods have been updated..."),
        ),
        (
            daemonset(desiredNumberScheduled=3, updatedNumberScheduled=3, numberAvailable=2),
            RolloutStatus(False, False, DS_WAITING + "2 of 3 updated pods are available..."),
        ),
        (
            daemonset(desiredNumberScheduled=3, updatedNumberScheduled=3, numberAvailable=3),
            RolloutStatus(True, False, 'daemon set "agent" successfully rolled out'),
        ),
    ],
)
def test_status_follows_kubectl(obj: dict[str, Any], expected: RolloutStatus) -> None:
    assert rollout_status(obj) == expected


def test_the_kind_argument_wins_over_a_missing_kind_field() -> None:
    # A LIST's items carry no kind: wait_for_rollout passes the target's.
    obj = statefulset(readyReplicas=1)
    del obj["kind"]

    assert rollout_status(obj, kind=TargetKind.STATEFULSET).message == "Waiting for 2 pods to be ready..."
    assert rollout_status(obj).message.startswith("Waiting for deployment")


@pytest.fixture
def workloads(rollcheck_kube: Kube, namespace: str, localenv: LocalEnv) -> Workloads:
    return Workloads(rollcheck_kube, namespace, localenv)


def kubectl_status(workloads: Workloads, target: TargetRef) -> RolloutStatus:
    """What `kubectl rollout status --watch=false` says: done on exit 0 with "successfully"/"complete"."""
    result = workloads.kubectl("rollout", "status", str(target), "--watch=false", check=False)
    if result.returncode != 0:
        return RolloutStatus(False, True, result.stderr.strip().removeprefix("error: "))
    message = result.stdout.strip()
    return RolloutStatus("successfully" in message or " complete" in message, False, message)


def same_as_kubectl(workloads: Workloads, target: TargetRef) -> RolloutStatus:
    ours = rollout_status(workloads.get(target))
    assert ours == kubectl_status(workloads, target)
    return ours


@pytest.mark.parametrize("kind", [TargetKind.STATEFULSET, TargetKind.DAEMONSET])
def test_live_status_matches_kubectl(kind: TargetKind, workloads: Workloads) -> None:
    target = TargetRef(kind, f"live-{kind.value[:3]}")
    workloads.deploy(target, "v1", replicas=2)

    assert wait_for_rollout(workloads.kube, target, workloads.namespace, timeout=30).done
    assert same_as_kubectl(workloads, target).done

    workloads.set_release(target, "v2", env={"DEMO_CRASH": "1"})
    assert not wait_for_rollout(workloads.kube, target, workloads.namespace, timeout=3).done
    # A crash-looping pod holds both rollouts in one state, so the two readings cannot race.
    expected = "Waiting for 1 pods to be ready..." if kind is TargetKind.STATEFULSET else (
        f'Waiting for daemon set "{target.name}" rollout to finish: 0 of 1 updated pods are available...'
    )  # fmt: skip
    eventually(lambda: rollout_status(workloads.get(target)).message == expected, timeout=60, what=expected)
    assert same_as_kubectl(workloads, target) == RolloutStatus(False, False, expected)

    on_delete = {"spec": {"updateStrategy": {"type": "OnDelete", "rollingUpdate": None}}}
    workloads.kube.patch_raw(kind.value, target.name, workloads.namespace, on_delete, "application/merge-patch+json")
    assert same_as_kubectl(workloads, target) == ONLY_ROLLING


def test_live_partitioned_statefulset_matches_kubectl(workloads: Workloads) -> None:
    target = TargetRef(TargetKind.STATEFULSET, "partitioned")
    workloads.deploy(target, "v1", replicas=2)
    partition = {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 1}}}}
    workloads.kube.patch_raw("statefulset", target.name, workloads.namespace, partition, "application/merge-patch+json")
    workloads.set_release(target, "v2")
    workloads.wait(target)

    status = same_as_kubectl(workloads, target)

    assert status == RolloutStatus(True, False, "partitioned roll out complete: 1 new pods have been updated...")
    assert wait_for_rollout(workloads.kube, target, workloads.namespace, timeout=10) == status
