"""`rollcheck run` end to end on the real cluster and Prometheus: the user's story from the README."""

from __future__ import annotations

from rollcheck import ExitCode
from rollcheck_runs import Scenario


def test_good_release_passes_and_nothing_is_touched(scenario: Scenario) -> None:
    scenario.deploy("v1")
    scenario.deploy("v2")
    revision = scenario.revision()
    run = scenario.run()
    assert run.returncode == ExitCode.PASSED, run.stdout[-3000:] + run.stderr[-2000:]
    report = run.report
    assert report["verdict"] == "passed"
    assert report["rollback"]["action"] == "not_needed"
    assert report["release"]["version"] == "v2"
    outcomes = {check["category"]: check["outcome"] for check in report["checks"]}
    assert outcomes == {"rollout": "passed", "health": "passed", "error_rate": "passed", "latency": "passed"}
    assert (scenario.image(), scenario.revision()) == ("rollcheck-demo:v2", revision)


def test_high_error_rate_is_rolled_back_and_recovers(scenario: Scenario) -> None:
    scenario.deploy("v1")
    scenario.deploy("v2", env={"DEMO_ERROR_RATE": "0.5"})
    run = scenario.run("--expect-image=rollcheck-demo:v2")
    assert run.returncode == ExitCode.FAILED, run.stdout[-3000:] + run.stderr[-2000:]
    report = run.report
    assert report["verdict"] == "failed"
    [error_rate] = [c for c in report["checks"] if c["category"] == "error_rate"]
    assert error_rate["outcome"] == "failed"
    [measurement] = [m for m in error_rate["measurements"] if m["threshold"] == 0.01]
    assert 0.3 <= measurement["value"] <= 0.7
    assert "5.." in measurement["query"]
    rollback = report["rollback"]
    assert (rollback["action"], rollback["from_version"], rollback["to_version"]) == ("rolled_back", "v2", "v1")
    assert rollback["recovered"] is True
    assert scenario.image() == "rollcheck-demo:v1"
    assert '"event":"rollcheck.rollback.rolled_back"' in run.stderr
    assert (run.report_dir / "junit.xml").exists()
    assert "rollcheck-summary" in (run.report_dir / "report.html").read_text()
    assert (run.report_dir / "allure-results" / "environment.properties").exists()


def test_prometheus_unreachable_is_inconclusive_and_nothing_is_touched(scenario: Scenario) -> None:
    scenario.deploy("v1")
    scenario.deploy("v2", env={"DEMO_ERROR_RATE": "0.5"})
    run = scenario.run(prometheus_url="http://127.0.0.1:9")
    assert run.returncode == ExitCode.INCONCLUSIVE, run.stdout[-3000:] + run.stderr[-2000:]
    assert run.report["verdict"] == "inconclusive"
    assert run.report["rollback"]["action"] == "not_needed"
    assert scenario.image() == "rollcheck-demo:v2"


def test_invalid_option_value_exits_4_naming_the_option(scenario: Scenario) -> None:
    run = scenario.run("--max-error-rate=often")
    assert run.returncode == ExitCode.USAGE_ERROR
    assert "--max-error-rate" in run.stderr
    assert "often" in run.stderr
    assert "Traceback" not in run.stderr
