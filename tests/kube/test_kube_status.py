"""kubectl's Deployment rollout status, message for message, on raw Deployment dicts."""

from __future__ import annotations

from typing import Any

import pytest

from rollcheck.kube import RolloutStatus
from rollcheck.kube import rollout_status

WAITING = 'Waiting for deployment "shop" rollout to finish: '


def deployment(
    *,
    generation: int = 2,
    observed: int = 2,
    replicas: int | None = 3,
    status: dict[str, Any] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    revision: str = "4",
) -> dict[str, Any]:
    spec = {} if replicas is None else {"replicas": replicas}
    return {
        "metadata": {
            "name": "shop",
            "generation": generation,
            "annotations": {"deployment.kubernetes.io/revision": revision},
        },
        "spec": spec,
        "status": {"observedGeneration": observed, **(status or {}), "conditions": conditions or []},
    }


DEADLINE = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
COMPLETE = {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (
            deployment(generation=3, observed=2, conditions=[DEADLINE]),
            RolloutStatus(False, False, "Waiting for deployment spec update to be observed..."),
        ),
        (
            deployment(conditions=[DEADLINE], status={"updatedReplicas": 1, "replicas": 3}),
            RolloutStatus(False, True, 'deployment "shop" exceeded its progress deadline'),
        ),
        (
            deployment(status={"updatedReplicas": 1, "replicas": 3, "availableReplicas": 2}),
            RolloutStatus(False, False, WAITING + "1 out of 3 new replicas have been updated..."),
        ),
        (
            deployment(status={"updatedReplicas": 3, "replicas": 4, "availableReplicas": 3}),
            RolloutStatus(False, False, WAITING + "1 old replicas are pending termination..."),
        ),
        (
            deployment(status={"updatedReplicas": 3, "replicas": 3, "availableReplicas": 2}),
            RolloutStatus(False, False, WAITING + "2 of 3 updated replicas are available..."),
        ),
        (
            deployment(conditions=[COMPLETE], status={"updatedReplicas": 3, "replicas": 3, "availableReplicas": 3}),
            RolloutStatus(True, False, 'deployment "shop" successfully rolled out'),
        ),
        # A Deployment scaled to zero: no status counters at all, and done.
        (deployment(replicas=0), RolloutStatus(True, False, 'deployment "shop" successfully rolled out')),
        # Without spec.replicas kubectl skips the updated-replicas test.
        (deployment(replicas=None), RolloutStatus(True, False, 'deployment "shop" successfully rolled out')),
    ],
)
def test_status_follows_kubectl(obj: dict[str, Any], expected: RolloutStatus) -> None:
    assert rollout_status(obj) == expected


def test_a_different_revision_is_an_error_before_anything_else() -> None:
    obj = deployment(generation=5, observed=1, revision="4")

    assert rollout_status(obj, revision=3) == RolloutStatus(
        False, True, "desired revision (3) is different from the running revision (4)"
    )
    assert rollout_status(obj, revision=4).message == "Waiting for deployment spec update to be observed..."
    assert rollout_status(obj, revision=0).message == "Waiting for deployment spec update to be observed..."


def test_an_unparsable_revision_fails_a_revision_check() -> None:
    status = rollout_status(deployment(revision="four"), revision=4)

    assert status.failed
    assert status.message == 'cannot get the revision of deployment "shop"'


def test_a_deployment_without_status_is_waiting() -> None:
    status = rollout_status({"metadata": {"name": "shop", "generation": 1}, "spec": {"replicas": 1}})

    assert status == RolloutStatus(False, False, "Waiting for deployment spec update to be observed...")
