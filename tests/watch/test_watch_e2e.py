"""`rollcheck run --watch` on the real cluster and Prometheus: a release that goes bad after its rollout."""

from __future__ import annotations

import datetime

import pytest
from kubernetes import client

from rollcheck import ExitCode
from rollcheck_runs import Scenario

FAULT_AFTER_S = 15
INTERVAL_S = 5
SCRAPE_S = 1  # the local Prometheus scrapes every second
# The round's own queries, the decision and the rollback's read-and-PATCH, on a shared 2-core machine.
SLACK_S = 3
# The rollback must come within one interval of the fault, so the test runs without neighbours.
pytestmark = pytest.mark.timing


def _time(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _first_start(scenario: Scenario, image: str) -> datetime.datetime:
    """When the first pod of the release started its process. The demo service's fault clock starts with its
    process, and startedAt is rounded down to the second, so startedAt + DEMO_FAULT_AFTER_S is at or before the
    first injected error: the measured delay is never flattered."""
    core = client.CoreV1Api(scenario.releases.apps.api_client)
    pods = core.list_namespaced_pod(scenario.releases.namespace, label_selector=f"app={scenario.name}").items
    starts = [
        status.state.running.started_at
        for pod in pods
        if pod.spec.containers[0].image == image
        for status in pod.status.container_statuses or []
        if status.state and status.state.running and status.state.running.started_at
    ]
    assert starts, f"no running pod of {image}"
    return min(starts)


def test_a_release_that_goes_bad_during_the_watch_is_rolled_back_within_one_interval(scenario: Scenario) -> None:
    scenario.deploy("v1")
    scenario.deploy("v2", env={"DEMO_ERROR_RATE": "0.5", "DEMO_FAULT_AFTER_S": str(FAULT_AFTER_S)})
    fault_start = _first_start(scenario, "rollcheck-demo:v2") + datetime.timedelta(seconds=FAULT_AFTER_S)
    # --failure-limit=1: the first failed measurement decides, so the bound is one interval (see the README for
    # how the limits add intervals).
    run = scenario.run("--watch=60s", f"--interval={INTERVAL_S}s", "--failure-limit=1")
    assert run.returncode == ExitCode.FAILED, run.stdout[-3000:] + run.stderr[-2000:]
    report = run.report
    analysis = report["analysis"]
    assert (analysis["status"], analysis["deciding_rule"]) == ("failed", "failure-limit"), analysis["reason"]
    assert analysis["measurements"][0]["outcome"] == "passed", "the release was good before the fault"
    [failed] = [m for m in analysis["measurements"] if m["outcome"] == "failed"]
    assert failed["window"] == f"{INTERVAL_S}s", "each round measures the last interval, not since the rollout"
    rollback = report["rollback"]
    assert (rollback["action"], rollback["to_version"], rollback["recovered"]) == ("rolled_back", "v1", True)
    delay = (_time(rollback["issued_at"]) - fault_start).total_seconds()
    bound = INTERVAL_S + 2 * SCRAPE_S + SLACK_S
    print(f"fault start to rollback issued: {delay:.1f}s (bound {bound}s)")  # shown by -rP, for the README's figure
    assert 0 < delay <= bound, (
        f"fault at {fault_start.isoformat()}, rollback issued {delay:.1f}s later (bound {bound}s)"
    )
    assert _time(analysis["finished_at"]) < _time(analysis["started_at"]) + datetime.timedelta(seconds=60)
    assert scenario.image() == "rollcheck-demo:v1"
