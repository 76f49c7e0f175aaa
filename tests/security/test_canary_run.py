"""A failing `rollcheck run` that really rolls back, with every secret rollcheck takes set to a canary: each
canary reaches the one place that needs it, and none appears in any output."""

from __future__ import annotations

import base64
import subprocess
import urllib.parse
from pathlib import Path

from canary_support import Recording
from canary_support import canary
from canary_support import leaks
from kubernetes import client
from security_outputs import child_environment
from security_outputs import cluster_outputs
from security_outputs import file_outputs

from localenv_support import REPO_ROOT
from localenv_support import LocalEnv
from localenv_support import Releases
from localenv_support import free_port
from rollcheck import ExitCode
from rollcheck_runs import Scenario


def test_a_rolled_back_run_shows_no_secret_anywhere(
    releases: Releases,
    localenv: LocalEnv,
    kube_api: client.ApiClient,
    token_kubeconfig: tuple[Path, str],
    prometheus_recorder: Recording,
    notification_receiver: Recording,
    tmp_path: Path,
) -> None:
    scenario = Scenario(releases, localenv, "leaky", free_port(), tmp_path)
    scenario.deploy("v1")
    scenario.deploy("v2", env={"DEMO_ERROR_RATE": "0.5"})
    kubeconfig, kube_token = token_kubeconfig
    secrets = {
        "Prometheus token": canary("promtoken"),
        "Slack URL secret": canary("slack"),
        "WeCom key": canary("wecom"),
        "webhook token": canary("webhook"),
        "serve token": canary("servetoken"),
        "kubeconfig token": kube_token,
        # A JWT's header is the same for every token of the cluster; its signature is what is secret.
        "kubeconfig token signature": kube_token.rsplit(".", 1)[-1],
    }
    slack_path = f"/services/T0CANARY/B0CANARY/{secrets['Slack URL secret']}"
    wecom_path = f"/cgi-bin/webhook/send?key={secrets['WeCom key']}"
    webhook_path = f"/rollcheck?token={secrets['webhook token']}"
    environment = child_environment(
        KUBECONFIG=str(kubeconfig),  # as CI gives it; the token is the only identity with rights here
        ROLLCHECK_PROMETHEUS_TOKEN=secrets["Prometheus token"],
        ROLLCHECK_NOTIFY_SLACK_URL=notification_receiver.url + slack_path,
        ROLLCHECK_NOTIFY_WECOM_URL=notification_receiver.url + wecom_path,
        ROLLCHECK_NOTIFY_WEBHOOK_URL=notification_receiver.url + webhook_path,
        ROLLCHECK_SERVE_TOKEN=secrets["serve token"],
    )
    report_dir = tmp_path / "report"
    command = [
        str(REPO_ROOT / ".venv" / "bin" / "rollcheck"), "run",
        "--target=deployment/leaky", f"--namespace={releases.namespace}",
        f"--base-url={scenario.base_url}", f"--prometheus-url={prometheus_recorder.url}",
        "--window=10s", "--min-requests=20", "--rollout-timeout=60s", "--notify-on=always",
        "--expect-image=rollcheck-demo:v2", f"--report-dir={report_dir}",
    ]  # fmt: skip

    run = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=tmp_path, env=environment)

    assert run.returncode == ExitCode.FAILED, run.stdout[-3000:] + run.stderr[-2000:]
    assert scenario.image() == "rollcheck-demo:v1", "the rollback must really have happened, as the token"
    # Every secret reached the one receiver that needed it, so a scan that finds nothing means something.
    assert f"Bearer {secrets['Prometheus token']}" in prometheus_recorder.header_values("authorization")
    assert {request.target for request in notification_receiver.requests} == {slack_path, wecom_path, webhook_path}
    outputs = {
        "stdout": run.stdout,
        "stderr": run.stderr,
        **{f"report dir: {name}": text for name, text in file_outputs(report_dir).items()},
        **{f"notification to {r.target}": r.body.decode("utf-8", "replace") for r in notification_receiver.requests},
        **cluster_outputs(kube_api, releases.namespace, "leaky"),
    }
    # The outputs the scan must cover are there and say what they should, so the scan reads real content.
    assert '"event":"rollcheck.rollback.rolled_back"' in run.stderr
    for name in ("report.json", "junit.xml", "report.html", "allure-results/environment.properties"):
        assert f"report dir: {name}" in outputs, f"{name} was not written"
    assert any(name.endswith("-result.json") for name in outputs), "no Allure result was written"
    assert "RollcheckRollback" in outputs["kubernetes events"]
    assert leaks(outputs, secrets) == []


def test_the_scan_finds_a_secret_in_each_form_it_is_written_in() -> None:
    secret = "p@ss/word+=" + canary("probe")
    written = [
        secret,
        urllib.parse.quote(secret, safe=""),
        base64.b64encode(secret.encode()).decode(),
        base64.urlsafe_b64encode(secret.encode()).decode().rstrip("="),
    ]
    for text in written:
        assert leaks({"output": f"..{text}.."}, {"probe": secret}) == ["probe in output"], text
    assert leaks({"output": secret[:-1]}, {"probe": secret}) == []
