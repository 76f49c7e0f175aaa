"""Pod status documents the way kubelet writes them, for the pods/status subresource.

The controllers only count what is in the status: a Deployment's availability reads the Ready condition and
its lastTransitionTime, a StatefulSet waits for ``phase: Running`` and Ready. So lastTransitionTime must only
move when a condition really flips, or minReadySeconds would never be reached.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from .pod_process import kube_time

LOOPBACK = "127.0.0.1"
NEVER_PULL_MESSAGE = "only rollcheck-demo:<tag> images run in the local environment; image {image!r} is never pulled"


class ConditionClock:
    """Remembers each condition's status and when it last flipped."""

    def __init__(self, existing: Iterable[Mapping[str, Any]] = ()) -> None:
        # Seeded from the pod's current status, so an agent restart does not reset transition times.
        self._conditions: dict[str, tuple[str, str]] = {
            item["type"]: (item["status"], item.get("lastTransitionTime") or "")
            for item in existing
            if "type" in item and "status" in item
        }

    def condition(self, condition_type: str, is_true: bool, *, reason: str = "", message: str = "") -> dict[str, Any]:
        """The condition as it should be now, with lastTransitionTime moved only if its status changed."""
        status = "True" if is_true else "False"
        previous = self._conditions.get(condition_type)
        if previous is None or previous[0] != status or not previous[1]:
            self._conditions[condition_type] = (status, kube_time(datetime.now(UTC)))
        result: dict[str, Any] = {
            "type": condition_type,
            "status": status,
            "lastTransitionTime": self._conditions[condition_type][1],
        }
        if reason:
            result.update(reason=reason, message=message)
        return result


@dataclass(frozen=True, kw_only=True)
class ContainerReport:
    """One entry of containerStatuses."""

    name: str
    image: str
    ready: bool
    started: bool
    restart_count: int
    state: Mapping[str, Any]
    last_state: Mapping[str, Any]

    def as_status(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "image": self.image,
            "imageID": f"localenv://{self.image}",
            "ready": self.ready,
            "started": self.started,
            "restartCount": self.restart_count,
            "state": dict(self.state),
            "lastState": dict(self.last_state),
        }


def _readiness_conditions(clock: ConditionClock, container: ContainerReport) -> list[dict[str, Any]]:
    not_ready = ("ContainersNotReady", f"containers with unready status: [{container.name}]")
    reason, message = ("", "") if container.ready else not_ready
    return [
        clock.condition("PodScheduled", True),
        clock.condition("Initialized", True),
        clock.condition("ContainersReady", container.ready, reason=reason, message=message),
        clock.condition("Ready", container.ready, reason=reason, message=message),
    ]


def pod_status(*, phase: str, start_time: str, clock: ConditionClock, container: ContainerReport) -> dict[str, Any]:
    """The full status of a pod whose first container is `container`; pod and host share the loopback IP."""
    status: dict[str, Any] = {
        "phase": phase,
        "startTime": start_time,
        "hostIP": LOOPBACK,
        "hostIPs": [{"ip": LOOPBACK}],
        "conditions": _readiness_conditions(clock, container),
        "containerStatuses": [container.as_status()],
    }
    if phase == "Running":
        status.update(podIP=LOOPBACK, podIPs=[{"ip": LOOPBACK}])
    return status


def never_pull_report(container: Mapping[str, Any]) -> ContainerReport:
    """The container of a pod whose image cannot run here, waiting like kubelet with imagePullPolicy Never."""
    image = container.get("image", "")
    waiting = {"reason": "ErrImageNeverPull", "message": NEVER_PULL_MESSAGE.format(image=image)}
    return ContainerReport(
        name=container["name"],
        image=image,
        ready=False,
        started=False,
        restart_count=0,
        state={"waiting": waiting},
        last_state={},
    )
