"""Pod status documents: condition transition times and kubelet-like container states."""

from __future__ import annotations

from rollcheck_localenv.pod_status import ConditionClock
from rollcheck_localenv.pod_status import ContainerReport
from rollcheck_localenv.pod_status import never_pull_report
from rollcheck_localenv.pod_status import pod_status

LONG_AGO = "2020-01-01T00:00:00Z"


def report(*, ready: bool) -> ContainerReport:
    return ContainerReport(
        name="app",
        image="rollcheck-demo:v1",
        ready=ready,
        started=True,
        restart_count=0,
        state={"running": {"startedAt": LONG_AGO}},
        last_state={},
    )


def conditions(status: dict[str, object]) -> dict[str, dict[str, str]]:
    return {item["type"]: item for item in status["conditions"]}  # type: ignore[attr-defined,index]


def test_transition_time_moves_only_when_the_status_flips() -> None:
    clock = ConditionClock([{"type": "Ready", "status": "True", "lastTransitionTime": LONG_AGO}])

    still_ready = conditions(
        pod_status(phase="Running", start_time=LONG_AGO, clock=clock, container=report(ready=True))
    )
    flipped = conditions(pod_status(phase="Running", start_time=LONG_AGO, clock=clock, container=report(ready=False)))
    unchanged = conditions(pod_status(phase="Running", start_time=LONG_AGO, clock=clock, container=report(ready=False)))

    assert still_ready["Ready"]["lastTransitionTime"] == LONG_AGO
    assert flipped["Ready"]["status"] == "False"
    assert flipped["Ready"]["lastTransitionTime"] > LONG_AGO
    assert flipped["Ready"]["reason"] == "ContainersNotReady"
    assert unchanged["Ready"]["lastTransitionTime"] == flipped["Ready"]["lastTransitionTime"]


def test_running_pod_gets_loopback_addresses_and_all_conditions() -> None:
    status = pod_status(phase="Running", start_time=LONG_AGO, clock=ConditionClock(), container=report(ready=True))

    assert status["podIP"] == status["hostIP"] == "127.0.0.1"
    assert status["podIPs"] == [{"ip": "127.0.0.1"}]
    assert {kind: item["status"] for kind, item in conditions(status).items()} == {
        "PodScheduled": "True",
        "Initialized": "True",
        "ContainersReady": "True",
        "Ready": "True",
    }
    assert status["containerStatuses"][0]["ready"] is True


def test_foreign_image_waits_with_err_image_never_pull() -> None:
    container = never_pull_report({"name": "web", "image": "nginx:1.27"})
    status = pod_status(phase="Pending", start_time=LONG_AGO, clock=ConditionClock(), container=container)

    waiting = status["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "ErrImageNeverPull"
    assert "only rollcheck-demo" in waiting["message"]
    assert "podIP" not in status
    assert conditions(status)["Ready"]["status"] == "False"
