"""A release that declares rolling back unsafe is frozen, not rolled back, on the real cluster."""

from __future__ import annotations

from rollcheck import ExitCode
from rollcheck_runs import Scenario

REASON = "migration 0042 dropped the legacy orders table"


def test_a_failing_release_that_declares_rollback_unsafe_is_frozen(scenario: Scenario) -> None:
    scenario.deploy("v1")
    scenario.deploy("v2", env={"DEMO_ERROR_RATE": "0.5"})
    annotations = {"rollcheck.dev/rollback": "unsafe", "rollcheck.dev/rollback-unsafe-reason": REASON}
    scenario.releases.apps.patch_namespaced_deployment(
        scenario.name, scenario.releases.namespace, {"metadata": {"annotations": annotations}}
    )
    revision = scenario.revision()
    run = scenario.run()
    assert run.returncode == ExitCode.FAILED, run.stdout[-3000:] + run.stderr[-2000:]
    report = run.report
    assert report["verdict"] == "failed"
    rollback = report["rollback"]
    assert rollback["action"] == "frozen"
    assert rollback["issued_at"] is None
    assert (
        f"frozen, not rolled back: deployment/{scenario.name} in {scenario.releases.namespace} declares"
        in (rollback["reason"])
    )
    assert REASON in rollback["reason"]
    assert "rollback: frozen: 1 gating check(s) failed" in run.stdout
    assert REASON in run.stdout
    assert '"event":"rollcheck.rollback.frozen"' in run.stderr
    assert (scenario.image(), scenario.revision()) == ("rollcheck-demo:v2", revision)
