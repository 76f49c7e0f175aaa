"""The workload proxy with real demo services behind it; no cluster needed."""

from __future__ import annotations

import itertools
import json
import logging
import socket
import threading
from collections.abc import Callable
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import httpx
import pytest
from component_helpers import RunningDemo

from localenv_support import free_port
from rollcheck_localenv.kube_objects import PORT_ANNOTATION
from rollcheck_localenv.kube_objects import WorkloadRef
from rollcheck_localenv.workload_proxy import ProxyManager
from rollcheck_localenv.workload_proxy import ProxyServer
from rollcheck_localenv.workload_proxy import start_proxy
from rollcheck_localenv.workload_proxy import stop_proxy

StartDemo = Callable[..., RunningDemo]


class EchoHandler(BaseHTTPRequestHandler):
    """An upstream that answers with what it received, to see exactly what the proxy forwards."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        echo = {"path": self.path, "body": body.decode(), "headers": {k.lower(): v for k, v in self.headers.items()}}
        payload = json.dumps(echo).encode()
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Upstream", "echo")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[Callable[[Callable[[], list[int]]], ProxyServer]]:
    started: list[ProxyServer] = []

    def start(backends: Callable[[], list[int]]) -> ProxyServer:
        server = start_proxy(free_port(), "deployment test/shop", backends)
        started.append(server)
        return server

    yield start
    for server in started:
        stop_proxy(server)


def url_of(server: ProxyServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_round_robin_over_ready_pods(demo_service: StartDemo, proxy: Callable[..., ProxyServer]) -> None:
    first, second = demo_service("v1"), demo_service("v2")
    server = proxy(lambda: [first.port, second.port])

    with httpx.Client(timeout=5) as http:
        versions = [http.get(f"{url_of(server)}/version").json()["version"] for _ in range(6)]

    assert sorted(versions) == ["v1", "v1", "v1", "v2", "v2", "v2"]
    assert all(a != b for a, b in itertools.pairwise(versions))


def test_post_body_reaches_the_pod(demo_service: StartDemo, proxy: Callable[..., ProxyServer]) -> None:
    demo = demo_service("v3")
    server = proxy(lambda: [demo.port])

    response = httpx.post(f"{url_of(server)}/api/orders", json={"item": 1}, timeout=5)

    assert response.status_code == 201
    assert response.json()["order"] == {"item": 1}
    assert response.json()["version"] == "v3"


def test_request_and_response_pass_through_minus_hop_by_hop_headers(proxy: Callable[..., ProxyServer]) -> None:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    server = proxy(lambda: [upstream.server_address[1]])
    try:
        response = httpx.post(
            f"{url_of(server)}/api/orders?dry_run=1&x=%2F",
            content=b"payload",
            headers={"X-Request-Id": "abc", "Connection": "keep-alive, X-Secret-Hop", "X-Secret-Hop": "1"},
            timeout=5,
        )
    finally:
        upstream.shutdown()
        upstream.server_close()

    echoed = response.json()
    assert response.status_code == 202
    assert response.headers["x-upstream"] == "echo"
    assert echoed["path"] == "/api/orders?dry_run=1&x=%2F"
    assert echoed["body"] == "payload"
    assert echoed["headers"]["x-request-id"] == "abc"
    assert "x-secret-hop" not in echoed["headers"]
    assert "keep-alive" not in echoed["headers"]


def test_no_ready_pod_answers_503(proxy: Callable[..., ProxyServer]) -> None:
    server = proxy(list)

    response = httpx.get(f"{url_of(server)}/version", timeout=5)

    assert response.status_code == 503
    assert "no Ready pod behind deployment test/shop" in response.text


def test_pod_not_answering_gives_502(proxy: Callable[..., ProxyServer]) -> None:
    nothing_listens = free_port()
    server = proxy(lambda: [nothing_listens])

    response = httpx.get(f"{url_of(server)}/version", timeout=5)

    assert response.status_code == 502
    assert f"127.0.0.1:{nothing_listens}" in response.text


def annotated(port: int | str | None) -> dict[str, object]:
    annotations = {} if port is None else {PORT_ANNOTATION: str(port)}
    return {"metadata": {"name": "shop", "namespace": "prod", "annotations": annotations}}


def refuses_connections(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_manager_follows_the_port_annotation(demo_service: StartDemo) -> None:
    demo = demo_service("v5")
    shop = WorkloadRef("prod", "Deployment", "shop")
    manager = ProxyManager(lambda ref: [demo.port] if ref == shop else [])
    port = free_port()
    try:
        manager.sync({shop: annotated(port)})
        assert manager.exposed() == {shop: port}
        assert httpx.get(f"http://127.0.0.1:{port}/version", timeout=5).json() == {"version": "v5"}

        manager.sync({shop: annotated(None)})
        assert manager.exposed() == {}
        assert refuses_connections(port)
    finally:
        manager.stop_all()


def test_manager_reports_a_taken_port_and_keeps_going(caplog: pytest.LogCaptureFixture) -> None:
    taken, free = free_port(), free_port()
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", taken))
    blocker.listen()
    busy, fine = WorkloadRef("prod", "Deployment", "busy"), WorkloadRef("prod", "StatefulSet", "fine")
    manager = ProxyManager(lambda ref: [])
    try:
        with caplog.at_level(logging.ERROR):
            manager.sync({busy: annotated(taken), fine: annotated(free)})
            manager.sync({busy: annotated(taken), fine: annotated(free)})
        exposed = manager.exposed()
    finally:
        manager.stop_all()
        blocker.close()

    assert exposed == {fine: free}
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert f"cannot expose deployment prod/busy on 127.0.0.1:{taken}" in errors[0]


def test_manager_ignores_an_unusable_annotation(caplog: pytest.LogCaptureFixture) -> None:
    manager = ProxyManager(lambda ref: [])
    shop = WorkloadRef("prod", "Deployment", "shop")

    with caplog.at_level(logging.ERROR):
        manager.sync({shop: annotated("http")})

    assert manager.exposed() == {}
    assert PORT_ANNOTATION in caplog.text
