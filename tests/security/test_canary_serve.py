"""`rollcheck serve` handling one alert with every secret it takes set to a canary: its bearer token, a client
key in its kubeconfig, notification URLs in files, and Prometheus basic auth for its --verify suite. Each
reaches the receiver that needs it; none appears in serve's log, its report directory or on the cluster."""

from __future__ import annotations

import base64
import datetime
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from canary_support import Recording
from canary_support import canary
from canary_support import leaks
from kubernetes import client
from security_outputs import child_environment
from security_outputs import cluster_outputs
from security_outputs import file_outputs
from security_outputs import key_secrets

from localenv_support import LocalEnv
from localenv_support import Releases
from localenv_support import eventually
from localenv_support import free_port
from localenv_support import wait_for_port
from rollcheck_runs import Scenario

ROLLCHECK = Path(sys.executable).parent / "rollcheck"

# The --verify suite reads Prometheus (with the basic-auth canary) and then finds the release bad, so serve
# goes on to roll back.
SUITE = """
def test_release_is_bad(prom):
    assert prom.vector("up"), "Prometheus answered no series"
    assert False, "this release is bad on purpose"
"""


@pytest.fixture
def secrets(key_kubeconfig: tuple[Path, str]) -> dict[str, str]:
    password = canary("prompassword")
    return {
        "serve token": canary("servetoken"),
        "Prometheus password": password,
        "Prometheus basic credential": base64.b64encode(f"rollcheck:{password}".encode()).decode(),
        "Slack URL secret": canary("slack"),
        "WeCom key": canary("wecom"),
        "webhook token": canary("webhook"),
        **key_secrets(key_kubeconfig[1]),
    }


def sink_paths(secrets: dict[str, str]) -> dict[str, str]:
    """Each notification sink's path on the receiver, with its secret where that service puts it."""
    return {
        "slack": f"/services/T0CANARY/B0CANARY/{secrets['Slack URL secret']}",
        "wecom": f"/cgi-bin/webhook/send?key={secrets['WeCom key']}",
        "webhook": f"/rollcheck?token={secrets['webhook token']}",
    }


@pytest.fixture
def served(
    releases: Releases,
    key_kubeconfig: tuple[Path, str],
    prometheus_recorder: Recording,
    notification_receiver: Recording,
    secrets: dict[str, str],
    tmp_path: Path,
) -> Iterator[tuple[str, Path, Path]]:
    """serve on a free loopback port; its URL, its report directory and its log (stdout and stderr)."""
    port, report_dir, log = free_port(), tmp_path / "reports", tmp_path / "serve.log"
    (tmp_path / "token").write_text(secrets["serve token"] + "\n")
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_verify.py").write_text(SUITE)
    paths = sink_paths(secrets)
    for sink, path in paths.items():
        (tmp_path / f"{sink}-url").write_text(notification_receiver.url + path)
    command = [
        str(ROLLCHECK), "serve", f"--listen=127.0.0.1:{port}", f"--token-file={tmp_path / 'token'}",
        f"--allow-namespace={releases.namespace}", f"--kubeconfig={key_kubeconfig[0]}",
        f"--report-dir={report_dir}", "--rollout-timeout=60s", "--notify-on=always", f"--verify={suite}",
        *(f"--notify-{sink}-url-file={tmp_path / f'{sink}-url'}" for sink in paths),
    ]  # fmt: skip
    # The suite inherits these: it reads Prometheus through the recorder, as the basic-auth user.
    environment = child_environment(
        ROLLCHECK_PROMETHEUS_URL=prometheus_recorder.url,
        ROLLCHECK_PROMETHEUS_USERNAME="rollcheck",
        ROLLCHECK_PROMETHEUS_PASSWORD=secrets["Prometheus password"],
        ROLLCHECK_SELECTOR='job="canary"',
        ROLLCHECK_WINDOW="2s",  # the built-in checks find nothing under this selector: they give up quickly
    )
    with (
        log.open("w") as output,
        subprocess.Popen(command, cwd=tmp_path, env=environment, stdout=output, stderr=output) as process,
    ):
        try:
            wait_for_port(port, timeout=30)
            yield f"http://127.0.0.1:{port}", report_dir, log
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(90) == 0, log.read_text()[-3000:]


def _alert(namespace: str, name: str) -> dict[str, Any]:
    return {
        "version": "4",
        "status": "firing",
        "receiver": "rollcheck",
        "groupKey": "{}:{}",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "CanaryRelease", "namespace": namespace, "deployment": name},
                "annotations": {},
                # After the rollout: an alert from before it would be about an older release, and skipped.
                "startsAt": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": "canary0000000001",
            }
        ],
    }


def test_serve_handles_an_alert_and_shows_no_secret_anywhere(
    releases: Releases,
    localenv: LocalEnv,
    kube_api: client.ApiClient,
    served: tuple[str, Path, Path],
    prometheus_recorder: Recording,
    notification_receiver: Recording,
    secrets: dict[str, str],
    tmp_path: Path,
) -> None:
    url, report_dir, log = served
    scenario = Scenario(releases, localenv, "served", free_port(), tmp_path)
    scenario.deploy("v1")
    scenario.deploy("v2")
    authorised = {"Authorization": f"Bearer {secrets['serve token']}"}

    refused = httpx.post(f"{url}/alertmanager", json=_alert(releases.namespace, "served"), timeout=10)
    answer = httpx.post(
        f"{url}/alertmanager", json=_alert(releases.namespace, "served"), headers=authorised, timeout=10
    )

    assert refused.status_code == 401, "without the token serve must refuse: the token is what lets us in"
    assert answer.status_code == 202, answer.text

    def final_report() -> dict[str, Any] | None:
        for path in report_dir.glob("*/report.json"):
            report: dict[str, Any] = json.loads(path.read_text())
            if len(report.get("notifications", [])) == 4:  # three receivers and the Kubernetes Event
                return report
        return None

    report = eventually(final_report, timeout=150, what="serve's report.json with its notifications")
    assert report["rollback"]["action"] == "rolled_back", report
    assert all(n["delivered"] for n in report["notifications"]), report["notifications"]
    assert scenario.image() == "rollcheck-demo:v1", "the rollback must really have happened, with the client key"
    basic = f"Basic {secrets['Prometheus basic credential']}"
    assert basic in prometheus_recorder.header_values("authorization"), "the suite never sent its credentials"
    assert {r.target for r in notification_receiver.requests} == set(sink_paths(secrets).values())
    eventually(lambda: "rollcheck.rollback.rolled_back" in log.read_text(), timeout=30, what="serve's log line")
    outputs = {
        "serve log": log.read_text(),
        **{f"report dir: {name}": text for name, text in file_outputs(report_dir).items()},
        **{f"notification to {r.target}": r.body.decode("utf-8", "replace") for r in notification_receiver.requests},
        **cluster_outputs(kube_api, releases.namespace, "served"),
    }
    assert any(name.endswith("junit.xml") for name in outputs), "the --verify suite's reports are scanned too"
    assert leaks(outputs, secrets) == []
