"""Faults of the Kubernetes API during a real run, injected by a loopback proxy the test owns in front of the real
API server (kube_fault_proxy.py): the real server cannot be made to answer 429, 503 or 409, lose an answer or
drop a watch on demand. Every request the proxy does not fault is answered by the real API server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_runs import PluginRun
from fault_runs import image
from fault_runs import two_revisions
from kube_fault_proxy import Fault
from kube_fault_proxy import KubeFaultProxy
from kube_fault_proxy import running

from localenv_support import LocalEnv
from localenv_support import Releases
from rollcheck import ExitCode


@pytest.fixture
def proxy(localenv: LocalEnv, tmp_path: Path) -> Iterator[KubeFaultProxy]:
    with running(KubeFaultProxy(localenv, tmp_path)) as started:
        yield started


def test_429_503_and_409_on_the_rollback_are_retried_and_the_rollback_recovers(
    pytester: pytest.Pytester, releases: Releases, proxy: KubeFaultProxy
) -> None:
    name = "throttled"
    two_revisions(releases, name)
    deployment = f"/namespaces/{releases.namespace}/deployments/{name}"
    proxy.faults = [
        Fault("GET", deployment, 503, retry_after="1"),  # the release read at the start
        Fault("PATCH", deployment, 429, retry_after="1"),  # priority and fairness shedding load
        Fault("PATCH", deployment, 503, retry_after="2"),  # an API server restarting behind a load balancer
        Fault("PATCH", deployment, 409),  # a write in between: the engine reads again and patches again
    ]
    run = PluginRun(pytester, kubeconfig=proxy.kubeconfig, namespace=releases.namespace, name=name)

    finished = run.run()

    assert finished.returncode == ExitCode.FAILED, finished.stderr[-3000:]
    rollback = finished.report["rollback"]
    assert (rollback["action"], rollback["recovered"], rollback["error"]) == ("rolled_back", True, None)
    assert image(releases, name) == "rollcheck-demo:v1"
    patches = proxy.injected("PATCH")
    assert [seen.injected for seen in patches] == [429, 503, 409, None]
    # Retry-After was honoured: the second PATCH waited 1s for the 429, the third 2s for the 503.
    assert patches[1].at - patches[0].at >= 0.95
    assert patches[2].at - patches[1].at >= 1.95
    assert finished.report["errors"] == []


def test_dropped_watches_while_waiting_for_the_restored_rollout_are_watched_again(
    pytester: pytest.Pytester, releases: Releases, proxy: KubeFaultProxy
) -> None:
    name = "unwatched"
    two_revisions(releases, name)
    proxy.cut_watches = 3
    run = PluginRun(pytester, kubeconfig=proxy.kubeconfig, namespace=releases.namespace, name=name)

    finished = run.run()

    assert finished.returncode == ExitCode.FAILED, finished.stderr[-3000:]
    rollback = finished.report["rollback"]
    assert (rollback["action"], rollback["recovered"], rollback["error"]) == ("rolled_back", True, None)
    gets = proxy.injected("GET")
    cut = [seen for seen in gets if "watch=true" in seen.target and seen.injected == 0]
    assert cut, f"no watch was cut: {gets}"
    relists = [seen for seen in gets if "watch=true" not in seen.target and "fieldSelector" in seen.target]
    assert any(relist.at > cut[0].at for relist in relists), "after the cut the wait must list the Deployment again"


def test_a_patch_whose_every_answer_is_lost_is_read_back_and_counts_as_applied(
    pytester: pytest.Pytester, releases: Releases, proxy: KubeFaultProxy
) -> None:
    name = "unanswered"
    two_revisions(releases, name)
    deployment = f"/namespaces/{releases.namespace}/deployments/{name}"
    # The first PATCH is applied by the API server; its answer, and the answers to every replay, are lost.
    proxy.faults = [Fault("PATCH", deployment, 0, times=10, forward_first=True)]
    run = PluginRun(pytester, kubeconfig=proxy.kubeconfig, namespace=releases.namespace, name=name)

    finished = run.run()

    assert finished.returncode == ExitCode.FAILED, finished.stderr[-3000:]
    rollback = finished.report["rollback"]
    assert (rollback["action"], rollback["recovered"], rollback["error"]) == ("rolled_back", True, None)
    assert rollback["issued_at"] is not None
    assert len(proxy.injected("PATCH")) == 5, "one PATCH and four retries"
    assert image(releases, name) == "rollcheck-demo:v1"


def test_a_patch_unanswered_and_unreadable_afterwards_is_a_rollback_of_unknown_outcome(
    pytester: pytest.Pytester, releases: Releases, proxy: KubeFaultProxy
) -> None:
    name = "unknowable"
    two_revisions(releases, name)
    deployment = f"/namespaces/{releases.namespace}/deployments/{name}"
    # As above, and from the first PATCH on, every read of the Deployment is lost as well.
    proxy.faults = [
        Fault("PATCH", deployment, 0, times=10, forward_first=True),
        Fault("GET", deployment, 0, times=1000, armed_by="PATCH"),
    ]
    run = PluginRun(pytester, kubeconfig=proxy.kubeconfig, namespace=releases.namespace, name=name)

    finished = run.run()

    assert finished.returncode == ExitCode.ROLLBACK_FAILED, finished.stderr[-3000:]
    report = finished.report
    rollback = report["rollback"]
    assert rollback["action"] == "failed"
    assert rollback["recovered"] is None
    assert "got no answer, so whether it was applied is unknown" in rollback["error"], rollback["error"]
    assert report["exit_code"] == ExitCode.ROLLBACK_FAILED
    assert [seen.injected for seen in proxy.injected("GET") if seen.target.endswith(deployment)][-1] == 0
    # What the record could not know: the first PATCH did land.
    assert image(releases, name) == "rollcheck-demo:v1"


def test_a_wait_that_never_reads_the_restored_rollout_says_why_when_it_times_out(
    pytester: pytest.Pytester, releases: Releases, proxy: KubeFaultProxy
) -> None:
    name = "unreadable"
    two_revisions(releases, name)
    deployment_list = f"/namespaces/{releases.namespace}/deployments"
    # Only the wait for the restored rollout lists by field selector: the PATCH goes through, every read of its
    # progress gets a 503 until the rollout timeout.
    proxy.faults = [Fault("GET", deployment_list, 503, times=1000, query_contains="fieldSelector")]
    run = PluginRun(pytester, kubeconfig=proxy.kubeconfig, namespace=releases.namespace, name=name)

    finished = run.run("--rollcheck-rollout-timeout=6")

    assert finished.returncode == ExitCode.ROLLBACK_FAILED, finished.stderr[-3000:]
    rollback = finished.report["rollback"]
    assert rollback["action"] == "rolled_back"
    assert rollback["issued_at"] is not None
    error = rollback["error"]
    assert error.startswith("the restored rollout did not complete: timed out after 6s"), error
    assert "503 Service Unavailable" in error, "the reason the wait saw nothing must be in the record"
    assert image(releases, name) == "rollcheck-demo:v1"
