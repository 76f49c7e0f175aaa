"""The pytest plugin notifies after the report is written, and writes the outcome into report.json."""

from __future__ import annotations

import json

import pytest
from kubernetes import client
from notify_support import Receiver

from localenv_support import LocalEnv
from localenv_support import Releases
from rollcheck import ExitCode

FAILING_CHECK = """
import pytest

@pytest.mark.rollcheck_check(category="error_rate")
def test_error_rate(evidence):
    evidence.record("sum(errors)", 0.41, threshold=0.01, window="15s")
    assert 0.41 <= 0.01, "error rate 0.41 > max 0.01 over 15s"
"""


def test_a_failed_run_posts_to_the_webhook_and_reports_the_outcome(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    for name in ("ROLLCHECK_TARGET", "KUBECONFIG", "CI", "GITHUB_ACTIONS", "GITLAB_CI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ROLLCHECK_NOTIFY_WEBHOOK_URL", receiver.url)
    monkeypatch.setenv("ROLLCHECK_PIPELINE_ID", "pipeline-9")
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(FAILING_CHECK)
    report_dir = pytester.path / "rollcheck-report"

    result = pytester.runpytest_subprocess(
        "-p", "rollcheck", "-p", "no:cacheprovider", "--rollcheck", f"--rollcheck-report-dir={report_dir}"
    )

    assert result.ret == ExitCode.FAILED, "a notification never changes the exit code"
    report = json.loads((report_dir / "report.json").read_text())
    assert report["notifications"] == [{"sink": "webhook", "delivered": True, "attempts": 1, "error": None}]
    [message] = receiver.received
    summary = message.json
    assert (summary["verdict"], summary["rollback"]["action"]) == ("failed", "disabled")
    assert summary["failed_checks"][0]["message"] == "error rate 0.41 > max 0.01 over 15s"
    assert summary["context"]["pipeline_id"] == "pipeline-9"
    assert receiver.secret_path not in result.stdout.str() + result.stderr.str()


def test_a_passed_run_sends_nothing_by_default(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    monkeypatch.delenv("ROLLCHECK_TARGET", raising=False)
    monkeypatch.setenv("ROLLCHECK_NOTIFY_WEBHOOK_URL", receiver.url)
    pytester.makeini("[pytest]\n")
    pytester.makepyfile("def test_ok():\n    pass\n")
    report_dir = pytester.path / "rollcheck-report"

    result = pytester.runpytest_subprocess("-p", "rollcheck", "--rollcheck", f"--rollcheck-report-dir={report_dir}")

    assert result.ret == ExitCode.PASSED
    assert json.loads((report_dir / "report.json").read_text())["notifications"] == []
    assert receiver.received == []


def test_a_real_rollback_notifies_and_leaves_an_event(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    receiver: Receiver,
    releases: Releases,
    localenv: LocalEnv,
    kube_api: client.ApiClient,
) -> None:
    releases.deploy("notified", "v1", replicas=1)
    releases.wait_rollout("notified")
    releases.set_release("notified", "v2")
    releases.wait_rollout("notified")
    for name in ("ROLLCHECK_TARGET", "KUBECONFIG", "CI", "GITHUB_ACTIONS", "GITLAB_CI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ROLLCHECK_NOTIFY_SLACK_URL", receiver.url)
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(FAILING_CHECK)
    report_dir = pytester.path / "rollcheck-report"

    result = pytester.runpytest_subprocess(
        "-p", "rollcheck", "-p", "no:cacheprovider",
        "--rollcheck-target=deployment/notified", f"--rollcheck-namespace={releases.namespace}",
        f"--rollcheck-kubeconfig={localenv.kubeconfig}", f"--rollcheck-report-dir={report_dir}",
    )  # fmt: skip

    report = json.loads((report_dir / "report.json").read_text())
    assert report["rollback"]["action"] == "rolled_back", result.stdout.str()[-2000:]
    assert [(n["sink"], n["delivered"]) for n in report["notifications"]] == [
        ("slack", True), ("kubernetes-event", True),
    ]  # fmt: skip
    [message] = receiver.received
    assert "rolled back (v2 → v1)" in message.json["text"]
    events = client.CoreV1Api(kube_api).list_namespaced_event(
        releases.namespace, field_selector="involvedObject.name=notified,reason=RollcheckRollback"
    )
    [event] = events.items
    assert event.message.startswith("rolled back v2 → v1")
