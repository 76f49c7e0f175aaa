"""Prometheus scrapes every demo pod; an alert rule fires and Alertmanager delivers its webhook."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any
from typing import ClassVar

import httpx
import pytest

from localenv_support import LocalEnv
from localenv_support import Releases
from localenv_support import eventually


def _query(localenv: LocalEnv, promql: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{localenv.prometheus_url}/api/v1/query", params={"query": promql}, timeout=5)
    response.raise_for_status()
    result: list[dict[str, Any]] = response.json()["data"]["result"]
    return result


def test_every_demo_pod_is_scraped(releases: Releases, localenv: LocalEnv) -> None:
    releases.deploy("scraped", "v1", replicas=3)
    releases.wait_rollout("scraped")
    pods = {pod.metadata.name for pod in _pods(releases, "scraped")}

    def all_up() -> set[str] | None:
        series = _query(localenv, f'up{{namespace="{releases.namespace}",workload="scraped"}} == 1')
        up = {s["metric"]["pod"] for s in series}
        return up if up >= pods else None

    assert eventually(all_up, timeout=20, what="up == 1 for every pod") >= pods


def _pods(releases: Releases, app: str) -> list[Any]:
    from kubernetes import client

    core = client.CoreV1Api(releases.apps.api_client)
    return list(core.list_namespaced_pod(releases.namespace, label_selector=f"app={app}").items)


def test_error_rate_knob_shows_in_prometheus(releases: Releases, localenv: LocalEnv) -> None:
    from localenv_support import free_port

    releases.deploy("errors", "v1", replicas=2, port=free_port())
    releases.wait_rollout("errors")
    releases.set_release("errors", "v2", env={"DEMO_ERROR_RATE": "0.3"})
    releases.wait_rollout("errors")
    ratio_query = (
        f'sum(rate(http_requests_total{{namespace="{releases.namespace}",version="v2",code=~"5.."}}[15s]))'
        f' / sum(rate(http_requests_total{{namespace="{releases.namespace}",version="v2"}}[15s]))'
    )

    def ratio() -> float | None:
        result = _query(localenv, ratio_query)
        value = float(result[0]["value"][1]) if result else None
        return value if value is not None and 0.2 <= value <= 0.4 else None

    assert 0.2 <= eventually(ratio, timeout=30, what="a 5xx ratio near 0.3 for v2") <= 0.4


def _alert_pipeline_state(localenv: LocalEnv, alert: str, received: list[tuple[str | None, dict[str, Any]]]) -> str:
    """Where the alert got to, so a failure says which stage stopped it."""

    def get(url: str) -> str:
        try:
            return httpx.get(url, timeout=5).text[:1500]
        except httpx.HTTPError as error:
            return repr(error)

    return "\n".join(
        [
            f"Prometheus rules: {get(f'{localenv.prometheus_url}/api/v1/rules?type=alert')}",
            f"Prometheus alerts: {get(f'{localenv.prometheus_url}/api/v1/alerts')}",
            f"Alertmanager alerts: {get(f'{localenv.alertmanager_url}/api/v2/alerts')}",
            f"webhooks received: {[payload.get('commonLabels') for _, payload in received]}",
        ]
    )


class _Receiver(BaseHTTPRequestHandler):
    deliveries: ClassVar[list[tuple[str | None, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.deliveries.append((self.headers.get("Authorization"), json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def alert_receiver(localenv: LocalEnv) -> Iterator[list[tuple[str | None, dict[str, Any]]]]:
    deliveries: ClassVar[list[tuple[str | None, dict[str, Any]]]] = []
    handler = type("Receiver", (_Receiver,), {"deliveries": deliveries})
    server = ThreadingHTTPServer(("127.0.0.1", localenv.alert_receiver_port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield deliveries
    server.shutdown()
    server.server_close()


# Alertmanager delivers to one fixed receiver port, so the tests that listen on it share an xdist worker.
@pytest.mark.xdist_group("alert_receiver_port")
def test_alert_rule_fires_and_alertmanager_delivers_the_webhook(
    releases: Releases, localenv: LocalEnv, alert_receiver: list[tuple[str | None, dict[str, Any]]]
) -> None:
    from localenv_support import free_port

    releases.deploy("alerting", "v1", replicas=1, port=free_port(), env={"DEMO_ERROR_RATE": "0.5"})
    releases.wait_rollout("alerting")
    alert = f"RollcheckHighErrorRate{uuid.uuid4().hex[:6]}"
    rule_file = localenv.prometheus_rules / f"{alert}.yml"
    rule_file.write_text(
        "groups:\n"
        f"- name: {alert}\n"
        "  rules:\n"
        f"  - alert: {alert}\n"
        f'    expr: sum by (namespace, workload) (rate(http_requests_total{{namespace="{releases.namespace}",'
        'code=~"5.."}[10s])) > 0\n'
        "    labels: {severity: page}\n"
    )
    try:
        httpx.post(f"{localenv.prometheus_url}/-/reload", timeout=10).raise_for_status()

        def delivered() -> tuple[str | None, dict[str, Any]] | None:
            for authorization, payload in alert_receiver:
                if payload["commonLabels"].get("alertname") == alert and payload["status"] == "firing":
                    return authorization, payload
            return None

        try:
            authorization, payload = eventually(delivered, timeout=60, what=f"a webhook for {alert}")
        except AssertionError as timed_out:
            raise AssertionError(f"{timed_out}\n{_alert_pipeline_state(localenv, alert, alert_receiver)}") from None
    finally:
        rule_file.unlink()
        httpx.post(f"{localenv.prometheus_url}/-/reload", timeout=10)
    token = (localenv.state_dir / "alertmanager" / "receiver-token").read_text().strip()
    assert authorization == f"Bearer {token}"
    assert payload["version"] == "4"
    assert payload["alerts"][0]["labels"]["namespace"] == releases.namespace
    assert payload["alerts"][0]["labels"]["workload"] == "alerting"
