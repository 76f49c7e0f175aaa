"""The built-in checks and the fixtures without a cluster: health against the real demo service, and the
configuration skips and usage failures of the checks that need a target or Prometheus."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest
from check_runs import CHECKS_DIR
from check_runs import ChecksRun

RunChecks = Callable[..., ChecksRun]


def test_health_passes_against_a_healthy_service(run_checks: RunChecks, demo_service: Callable[..., str]) -> None:
    url = demo_service()
    run = run_checks("--rollcheck", f"--rollcheck-base-url={url}")
    run.result.assert_outcomes(passed=1, skipped=6)
    assert run.result.ret == 0
    health = run.check("test_health[/health]")
    assert health["outcome"] == "passed"
    assert health["category"] == "health"
    assert health["measurements"][0]["query"] == "GET /health"
    assert health["measurements"][0]["value"] == 200


def test_health_fails_with_what_was_probed_and_the_rule(
    run_checks: RunChecks, demo_service: Callable[..., str]
) -> None:
    url = demo_service(DEMO_HEALTH_FAIL="1")
    run = run_checks(
        "--rollcheck",
        f"--rollcheck-base-url={url}",
        "--rollcheck-health-attempts=4",
        "--rollcheck-health-failures=2",
        "--rollcheck-health-interval=0.1s",
        "--rollcheck-no-rollback",
    )
    run.result.assert_outcomes(failed=1, skipped=6)
    health = run.check("test_health[/health]")
    assert health["outcome"] == "failed"
    assert f"GET {url}/health failed: 2 consecutive failures of 4 attempts" in health["message"]
    assert "503 Service Unavailable" in health["message"]


def test_one_health_check_per_path(run_checks: RunChecks, demo_service: Callable[..., str]) -> None:
    url = demo_service()
    run = run_checks(
        "--rollcheck",
        f"--rollcheck-base-url={url}",
        "--rollcheck-health-path=/health",
        "--rollcheck-health-path=/version",
        "--rollcheck-health-path=/missing",
        "--rollcheck-health-attempts=1",
        "--rollcheck-health-failures=1",
        "--rollcheck-no-rollback",
    )
    run.result.assert_outcomes(passed=2, failed=1, skipped=6)
    assert run.check("[/version]")["outcome"] == "passed"
    assert "404 Not Found" in run.check("[/missing]")["message"]


def test_without_urls_or_target_the_checks_are_skipped_as_not_asked_for(run_checks: RunChecks) -> None:
    run = run_checks("--rollcheck")
    run.result.assert_outcomes(skipped=7)
    run.result.stdout.fnmatch_lines(
        [
            "SKIPPED [[]1[]] *test_error_rate.py:*: no Prometheus URL given (--prometheus-url or *)",
            "SKIPPED [[]1[]] *test_health.py*: no base URL given (--base-url or --rollcheck-base-url)",
            "SKIPPED [[]1[]] *test_latency.py:*: no Prometheus URL given (--prometheus-url or *)",
            "SKIPPED [[]1[]] *test_rollout.py:*: no target given (--target or --rollcheck-target)",
            "SKIPPED [[]1[]] *test_rollout.py:*: no target given (--target or --rollcheck-target)",
        ]
    )
    assert {c["outcome"] for c in run.report["checks"]} == {"skipped"}


def test_metric_checks_without_a_target_are_skipped(run_checks: RunChecks) -> None:
    # A Prometheus URL alone does not say which release or since when: the window starts at its rollout.
    run = run_checks("--rollcheck", "--rollcheck-prometheus-url=http://127.0.0.1:9")
    run.result.assert_outcomes(skipped=7)
    assert run.check("test_error_rate.py::")["message"].endswith("no target given (--target or --rollcheck-target)")


FIXTURE_CHECKS = """
import pytest

def test_settings(rollcheck_settings):
    assert rollcheck_settings.max_error_rate == 0.01

@pytest.mark.rollcheck_settings(max_error_rate=0.2)
class TestMarked:
    @pytest.mark.rollcheck_settings(window="2m")
    def test_closest_marker_wins_per_option(self, rollcheck_settings):
        assert (rollcheck_settings.max_error_rate, rollcheck_settings.window) == (0.2, 120.0)

    @pytest.mark.rollcheck_settings(max_error_rate=0.3)
    def test_closest_marker_wins(self, rollcheck_settings):
        assert rollcheck_settings.max_error_rate == 0.3

def test_http_without_base_url(http):
    pass

def test_prom_without_url(prom):
    pass

def test_release_without_target(release):
    pass

def test_evidence(evidence):
    evidence.record("sum(up)", 2.0, threshold=1.0, window=30)
    evidence.record("sum(down)", None)
"""


def test_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fixtures=FIXTURE_CHECKS)
    result = pytester.runpytest_subprocess("--rollcheck", "-rA", "--rollcheck-no-rollback")
    result.assert_outcomes(passed=4, errors=2, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*test_http_without_base_url*this check needs the release's base URL: give --base-url*",
            "*test_prom_without_url*this check needs Prometheus: give --prometheus-url*",
        ],
        consecutive=False,
    )
    report = (pytester.path / "rollcheck-report" / "report.json").read_text()
    assert '"query": "sum(up)"' in report
    assert '"window": "30s"' in report


def test_fixtures_explain_how_to_enable_rollcheck(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_settings(rollcheck_settings):\n    pass\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*rollcheck is not enabled in this pytest run*`rollcheck run --target KIND/NAME*"])


def test_the_checks_without_rollcheck_enabled_explain_how_to_enable_it(pytester: pytest.Pytester) -> None:
    ini = pytester.makeini("[pytest]\n")
    result = pytester.runpytest_subprocess("-c", str(ini), "--rootdir", str(pytester.path), str(CHECKS_DIR))
    result.assert_outcomes(errors=7)
    assert result.stdout.str().count("rollcheck is not enabled in this pytest run") >= 5
    assert not (pytester.path / "rollcheck-report").exists()


def test_collecting_the_checks_does_not_load_the_heavy_clients() -> None:
    # A fresh interpreter: this test process has long imported kubernetes through the repository's conftest.
    code = (
        "import importlib, sys\n"
        "import rollcheck.plugins\n"
        "for name in ('health', 'rollout', 'error_rate', 'latency'):\n"
        "    importlib.import_module('rollcheck.checks.test_' + name)\n"
        "print(sorted(m for m in ('kubernetes', 'prometheus_api_client', 'requests') if m in sys.modules))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_the_checks_directory_is_the_shipped_package() -> None:
    assert sorted(p.name for p in CHECKS_DIR.glob("test_*.py")) == [
        "test_baseline.py",
        "test_error_rate.py",
        "test_health.py",
        "test_latency.py",
        "test_rollout.py",
    ]
