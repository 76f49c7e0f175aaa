"""The built-in checks end to end: demo releases on the local control plane, traffic from the load generator,
the real Prometheus, and the checks directory run by pytest with the rollcheck plugin (rollback off)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from check_runs import ChecksRun

from localenv_support import LocalEnv
from localenv_support import Releases
from localenv_support import free_port

RunChecks = Callable[..., ChecksRun]
WINDOW = "10s"


@pytest.fixture
def run_on(run_checks: RunChecks, localenv: LocalEnv, releases: Releases) -> Callable[..., ChecksRun]:
    """Run the checks against deployment `name` with Prometheus and a 10 s window, never rolling back."""

    def run(name: str, *extra: str) -> ChecksRun:
        return run_checks(
            f"--rollcheck-target=deployment/{name}",
            f"--rollcheck-namespace={releases.namespace}",
            f"--rollcheck-kubeconfig={localenv.kubeconfig}",
            f"--rollcheck-window={WINDOW}",
            "--rollcheck-rollout-timeout=60s",
            "--rollcheck-no-rollback",
            *extra,
        )

    return run


def _outcomes(run: ChecksRun) -> dict[str, str]:
    return {c["id"].rsplit("::", 1)[1]: c["outcome"] for c in run.report["checks"]}


def test_a_healthy_release_passes_every_check(
    run_on: Callable[..., ChecksRun], releases: Releases, localenv: LocalEnv
) -> None:
    port = free_port()
    releases.deploy("good", "v1", replicas=2, port=port)
    releases.wait_rollout("good")
    run = run_on(
        "good", f"--rollcheck-base-url=http://127.0.0.1:{port}", f"--rollcheck-prometheus-url={localenv.prometheus_url}"
    )
    assert _outcomes(run) == {
        "test_error_rate": "passed",
        "test_health[/health]": "passed",
        "test_p99_latency": "passed",
        "test_rollout_complete": "passed",
        "test_new_pods_not_restarting": "passed",
        "test_error_rate_vs_baseline": "skipped",
        "test_p99_latency_vs_baseline": "skipped",
    }, run.result.stdout.str()
    assert run.result.ret == 0
    assert run.report["verdict"] == "passed"
    requests, rate = run.check("test_error_rate.py::")["measurements"]
    assert requests["value"] >= 20
    assert requests["threshold"] == 20
    assert rate["value"] == 0
    assert rate["window"] == WINDOW
    assert f'namespace="{releases.namespace}",pod=~"good-' in rate["query"]


def test_a_release_answering_5xx_fails_the_error_rate_check(
    run_on: Callable[..., ChecksRun], releases: Releases, localenv: LocalEnv
) -> None:
    port = free_port()
    releases.deploy("errors", "v1", replicas=2, port=port)
    releases.wait_rollout("errors")
    releases.set_release("errors", "v2", env={"DEMO_ERROR_RATE": "0.5"})
    releases.wait_rollout("errors")
    run = run_on("errors", f"--rollcheck-prometheus-url={localenv.prometheus_url}")
    assert _outcomes(run)["test_error_rate"] == "failed", run.result.stdout.str()
    assert _outcomes(run)["test_rollout_complete"] == "passed"
    assert run.report["verdict"] == "failed"
    check = run.check("test_error_rate.py::")
    assert check["category"] == "error_rate"
    assert "error rate 0." in check["message"]
    assert "> max 0.01 over 10s (query: " in check["message"]
    assert 'http_requests_total{namespace="' in check["message"]
    assert "Settings(" not in check["message"]
    rate = check["measurements"][-1]
    assert 0.3 <= rate["value"] <= 0.7
    assert rate["threshold"] == 0.01


def test_a_slow_release_fails_the_latency_check(
    run_on: Callable[..., ChecksRun], releases: Releases, localenv: LocalEnv
) -> None:
    port = free_port()
    releases.deploy("slow", "v1", replicas=2, port=port, env={"DEMO_LATENCY_MS": "800"})
    releases.wait_rollout("slow")
    run = run_on("slow", f"--rollcheck-prometheus-url={localenv.prometheus_url}", "--rollcheck-min-requests=5")
    assert _outcomes(run)["test_p99_latency"] == "failed", run.result.stdout.str()
    check = run.check("test_latency.py::")
    assert "s > max 0.5s over 10s (query: histogram_quantile(0.99" in check["message"]
    assert check["measurements"][-1]["value"] > 0.5


def test_without_traffic_the_metric_checks_are_inconclusive(
    run_on: Callable[..., ChecksRun], releases: Releases, localenv: LocalEnv
) -> None:
    releases.deploy("idle", "v1", replicas=1)  # no port: the load generator does not reach it
    releases.wait_rollout("idle")
    run = run_on("idle", f"--rollcheck-prometheus-url={localenv.prometheus_url}")
    outcomes = _outcomes(run)
    assert outcomes["test_error_rate"] == "inconclusive", run.result.stdout.str()
    assert outcomes["test_p99_latency"] == "inconclusive"
    assert run.report["verdict"] == "inconclusive"
    assert run.result.ret == 7
    message = run.check("test_error_rate.py::")["message"]
    assert "at least 20 are needed to judge" in message or "fewer than the minimum of 20" in message
    assert "(query: sum(increase(http_requests_total{" in message


def test_a_crash_looping_release_fails_the_rollout_checks(run_on: Callable[..., ChecksRun], releases: Releases) -> None:
    releases.deploy("crashing", "v1", replicas=1, env={"DEMO_CRASH": "1"}, progress_deadline=5)
    run = run_on("crashing")
    outcomes = _outcomes(run)
    assert outcomes["test_rollout_complete"] == "failed", run.result.stdout.str()
    assert outcomes["test_new_pods_not_restarting"] == "failed"
    assert 'deployment "crashing" exceeded its progress deadline' in run.check("test_rollout_complete")["message"]
    restarting = run.check("test_new_pods_not_restarting")["message"]
    assert "of deployment/crashing's new revision are crash-looping or restarting: crashing-" in restarting
    assert "/app: " in restarting


def test_checks_of_a_release_that_cannot_be_read_are_inconclusive(
    run_on: Callable[..., ChecksRun], localenv: LocalEnv
) -> None:
    run = run_on("missing", f"--rollcheck-prometheus-url={localenv.prometheus_url}")
    outcomes = _outcomes(run)
    assert outcomes == {
        "test_error_rate": "inconclusive",
        "test_health[/health]": "skipped",
        "test_p99_latency": "inconclusive",
        "test_rollout_complete": "inconclusive",
        "test_new_pods_not_restarting": "inconclusive",
        "test_error_rate_vs_baseline": "skipped",
        "test_p99_latency_vs_baseline": "skipped",
    }, run.result.stdout.str()
    assert (
        "ClusterUnavailable: the release under test could not be read" in run.check("test_rollout_complete")["message"]
    )
