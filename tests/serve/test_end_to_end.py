"""The whole path on the local environment: a release that is fine, then degrades; a real Prometheus rule fires;
the real Alertmanager delivers to `rollcheck serve` (a subprocess on the environment's receiver port, with its
bearer token); the Deployment is rolled back once, however often the alert is delivered."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alertmanager_webhook import payload
from kubernetes import client
from serve_support import alert
from serve_support import image
from serve_support import metric
from serve_support import revision

from localenv_support import LocalEnv
from localenv_support import Releases
from localenv_support import eventually
from localenv_support import free_port
from rollcheck_runs import Scenario

ROLLCHECK = Path(sys.executable).parent / "rollcheck"
# The release degrades a fixed time after its checks started, so the checks must finish before it does.
pytestmark = pytest.mark.timing


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture
def alert_rule(localenv: LocalEnv, releases: Releases) -> Iterator[str]:
    """A Prometheus rule, in the environment's rules directory, that fires on any 5xx of this namespace's
    workloads and names the Deployment and the version it is about; removed (and Prometheus reloaded) after."""
    name = f"RollcheckServe{uuid.uuid4().hex[:6]}"
    rule_file = localenv.prometheus_rules / f"{name}.yml"
    rule_file.write_text(
        "groups:\n"
        f"- name: {name}\n"
        "  rules:\n"
        f"  - alert: {name}\n"
        f'    expr: sum by (namespace, workload, version) (rate(http_requests_total{{namespace="{releases.namespace}",'
        'code=~"5.."}[10s])) > 0\n'
        "    labels: {severity: page, deployment: '{{ $labels.workload }}'}\n"
        "    annotations: {summary: 'the release answers 5xx'}\n"
    )
    try:
        httpx.post(f"{localenv.prometheus_url}/-/reload", timeout=10).raise_for_status()
        yield name
    finally:
        rule_file.unlink()
        httpx.post(f"{localenv.prometheus_url}/-/reload", timeout=10)


@pytest.fixture
def served(
    localenv: LocalEnv, releases: Releases, tmp_path: Path, notification_sink: tuple[str, list[dict[str, Any]]]
) -> Iterator[tuple[str, Path]]:
    """`rollcheck serve` where Alertmanager delivers, allowed only this test's namespace (other tests' alerts
    get 403), notifying a local webhook receiver; its URL and report directory. Stopped with SIGTERM after."""
    port = localenv.alert_receiver_port
    eventually(lambda: _port_free(port), timeout=60, what=f"127.0.0.1:{port} to be free for the receiver")
    report_dir = tmp_path / "reports"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLCHECK_", "PYTEST_"))}
    environ["ROLLCHECK_NOTIFY_WEBHOOK_URL"] = notification_sink[0]
    command = [
        str(ROLLCHECK),
        "serve",
        f"--listen=127.0.0.1:{port}",
        f"--token-file={localenv.state_dir / 'alertmanager' / 'receiver-token'}",
        f"--allow-namespace={releases.namespace}",
        f"--kubeconfig={localenv.kubeconfig}",
        f"--report-dir={report_dir}",
        "--rollout-timeout=60s",
    ]
    log = tmp_path / "serve.log"
    with (
        log.open("w") as output,
        subprocess.Popen(command, cwd=tmp_path, env=environ, stdout=output, stderr=output) as process,
    ):
        try:
            eventually(lambda: _healthy(port), timeout=30, what="rollcheck serve to answer /healthz")
            yield f"http://127.0.0.1:{port}", report_dir
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(90) == 0, log.read_text()[-3000:]


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _active_alert(localenv: LocalEnv, name: str) -> dict[str, Any] | None:
    """The alert as Alertmanager holds it (fingerprint, startsAt, labels: what its webhook sends)."""
    response = httpx.get(
        f"{localenv.alertmanager_url}/api/v2/alerts", params={"filter": f'alertname="{name}"'}, timeout=5
    )
    found: list[dict[str, Any]] = response.json()
    return found[0] if found else None


# Alertmanager delivers to one fixed receiver port, so the tests that listen on it share an xdist worker.
@pytest.mark.xdist_group("alert_receiver_port")
def test_alertmanager_delivers_and_the_degraded_release_is_rolled_back_once(
    localenv: LocalEnv,
    releases: Releases,
    kube_api: client.ApiClient,
    alert_rule: str,
    served: tuple[str, Path],
    notification_sink: tuple[str, list[dict[str, Any]]],
    tmp_path: Path,
) -> None:
    url, report_dir = served
    port = free_port()
    releases.deploy("degrades", "v1", replicas=1, port=port)
    releases.wait_rollout("degrades")
    # v2 is fine when its rollout completes, passes its post-deploy checks, and starts failing 45 s later.
    releases.set_release("degrades", "v2", env={"DEMO_FAULT_AFTER_S": "45", "DEMO_ERROR_RATE": "0.8"})
    releases.wait_rollout("degrades")
    assert revision(releases, "degrades") == "2"
    checked = Scenario(releases, localenv, "degrades", port, tmp_path).run("--expect-image=rollcheck-demo:v2")
    assert (checked.returncode, checked.report["verdict"]) == (0, "passed"), checked.stdout[-3000:]
    assert revision(releases, "degrades") == "2", "the post-deploy checks passed: nothing was touched"

    held = eventually(lambda: _active_alert(localenv, alert_rule), timeout=120, what=f"{alert_rule} in Alertmanager")

    def report() -> dict[str, Any] | None:
        found = [json.loads(path.read_text()) for path in report_dir.glob("*/report.json")]
        return found[0] if found else None

    written = eventually(report, timeout=120, what="report.json of the rollback event")
    assert written["rollback"]["action"] == "rolled_back", written
    assert (written["rollback"]["from_version"], written["rollback"]["to_version"]) == ("v2", "v1")
    assert (revision(releases, "degrades"), image(releases, "degrades")) == ("3", "rollcheck-demo:v1")
    assert held["labels"]["version"] == "v2"

    # The same alert delivered again, as Alertmanager would on a retry: nothing happens.
    again = alert(held["labels"], fingerprint=held["fingerprint"])
    again["startsAt"] = held["startsAt"]
    token = (localenv.state_dir / "alertmanager" / "receiver-token").read_text().strip()
    repeat = httpx.post(
        f"{url}/alertmanager", json=payload(again), headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert repeat.status_code == 202
    assert repeat.json()["alerts"][0]["outcome"] == "repeat"
    # Alertmanager's own next delivery of the group (the alert resolved once v2 was gone) does nothing either.
    eventually(
        lambda: metric(url, 'rollcheck_serve_alerts_received_total{status="resolved"}') >= 1,
        timeout=90,
        what="Alertmanager's resolved delivery",
    )
    assert metric(url, 'rollcheck_serve_rollbacks_total{action="rolled_back"}') == 1
    assert len(list(report_dir.glob("*/report.json"))) == 1
    assert revision(releases, "degrades") == "3"

    final = json.loads(next(report_dir.glob("*/report.json")).read_text())
    assert {n["sink"]: n["delivered"] for n in final["notifications"]} == {"webhook": True, "kubernetes-event": True}
    [message] = notification_sink[1]
    assert (message["target"], message["rollback"]["action"]) == ("deployment/degrades", "rolled_back")
    events = client.CoreV1Api(kube_api).list_namespaced_event(
        releases.namespace,
        field_selector="involvedObject.kind=Deployment,involvedObject.name=degrades,reason=RollcheckRollback",
    )
    assert len(events.items) == 1
