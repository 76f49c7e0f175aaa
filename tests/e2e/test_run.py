"""`rollcheck run` end to end on the real cluster and Prometheus: the user's story from the README."""

from __future__ import annotations

import json
import subprocess

from localenv_support import REPO_ROOT
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


CANARY_TOKEN = "canary-prometheus-token-8d1f3a"


def test_high_error_rate_is_rolled_back_and_recovers(scenario: Scenario) -> None:
    scenario.deploy("v1")
    scenario.deploy("v2", env={"DEMO_ERROR_RATE": "0.5"})
    # Prometheus here does not check tokens, so a canary one is sent on every query and must appear nowhere.
    run = scenario.run("--expect-image=rollcheck-demo:v2", env={"ROLLCHECK_PROMETHEUS_TOKEN": CANARY_TOKEN})
    assert run.returncode == ExitCode.FAILED, run.stdout[-3000:] + run.stderr[-2000:]
    report = run.report
    assert report["verdict"] == "failed"
    [error_rate] = [c for c in report["checks"] if c["id"].endswith("::test_error_rate")]
    assert error_rate["category"] == "error_rate"
    assert error_rate["outcome"] == "failed"
    assert error_rate["attempts"] == 2, "a failed gating check is re-run once before it counts"
    ratios = [m for m in error_rate["measurements"] if m["threshold"] == 0.01]
    assert len(ratios) == 2, "each attempt records its own measurement"
    for measurement in ratios:
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
    outputs = [
        run.stdout,
        run.stderr,
        *(p.read_text(errors="replace") for p in run.report_dir.rglob("*") if p.is_file()),
    ]
    assert not [text for text in outputs if CANARY_TOKEN in text], "the Prometheus token leaked into an output"


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


def test_custom_checks_run_beside_the_built_in_ones(scenario: Scenario) -> None:
    scenario.deploy("v1")
    run = scenario.run(str(REPO_ROOT / "examples" / "custom_checks"))
    assert run.returncode == ExitCode.PASSED, run.stdout[-3000:]
    outcomes = {check["id"].rsplit("::", 1)[1]: (check["outcome"], check["gating"]) for check in run.report["checks"]}
    assert outcomes["test_an_order_can_be_placed"] == ("passed", True)
    assert outcomes["test_item_listing_is_quick"][1] is False
    assert outcomes["test_error_rate"] == ("passed", True)


def test_a_checkout_is_a_suite(scenario: Scenario) -> None:
    scenario.deploy("v1")
    report_dir = scenario.tmp_path / "checkout-report"
    result = subprocess.run(
        [
            str(REPO_ROOT / ".venv" / "bin" / "python"), "-m", "pytest", "checks/", "-p", "rollcheck", "-o", "addopts=",
            f"--rollcheck-target=deployment/{scenario.name}", f"--rollcheck-namespace={scenario.releases.namespace}",
            f"--rollcheck-kubeconfig={scenario.localenv.kubeconfig}", f"--rollcheck-base-url={scenario.base_url}",
            f"--rollcheck-prometheus-url={scenario.localenv.prometheus_url}", "--rollcheck-window=10s",
            f"--rollcheck-report-dir={report_dir}",
        ],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == ExitCode.PASSED, result.stdout[-3000:]
    report = json.loads((report_dir / "report.json").read_text())
    assert report["verdict"] == "passed"
    assert {check["id"].split("::")[0] for check in report["checks"]} >= {"checks/test_error_rate.py"}


def test_dry_run_records_the_rollback_it_would_do_and_touches_nothing(scenario: Scenario) -> None:
    scenario.deploy("v1")
    scenario.deploy("v2", env={"DEMO_ERROR_RATE": "0.5"})
    run = scenario.run("--dry-run")
    assert run.returncode == ExitCode.FAILED, run.stdout[-3000:]
    rollback = run.report["rollback"]
    assert (rollback["action"], rollback["from_version"], rollback["to_version"]) == ("dry_run", "v2", "v1")
    assert scenario.image() == "rollcheck-demo:v2"


def test_a_release_other_than_the_expected_image_is_not_judged(scenario: Scenario) -> None:
    scenario.deploy("v1")
    scenario.deploy("v2", env={"DEMO_ERROR_RATE": "0.5"})
    # Even told to roll back on an inconclusive verdict: a release CI did not deploy is never rolled back.
    run = scenario.run("--expect-image=rollcheck-demo:v3", "--on-inconclusive=rollback")
    assert run.returncode == ExitCode.INCONCLUSIVE, run.stdout[-3000:]
    assert "rollcheck-demo:v3" in run.report["reason"]
    assert run.report["rollback"]["action"] == "not_needed"
    assert scenario.image() == "rollcheck-demo:v2"
