"""Fixtures for `rollcheck serve`: a receiver running in a thread of the test process, bound to 127.0.0.1."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

# The Helm release fixtures, for alerts naming `helm_release` (the explicit `as` re-exports them to pytest).
from helm_support import chart_packages as chart_packages
from helm_support import helm_binary as helm_binary
from helm_support import helm_release as helm_release
from serve_support import TOKEN

from localenv_support import LocalEnv
from rollcheck.serve import Listen
from rollcheck.serve import ReceiverServer
from rollcheck.serve import ServeConfig
from rollcheck.serve import build_server
from rollcheck.settings import Settings

StartReceiver = Callable[..., ReceiverServer]


@pytest.fixture
def start_receiver(tmp_path: Path) -> Iterator[StartReceiver]:
    """Builds a receiver from a ServeConfig (token, a tmp report dir, port 0) and serves it in a thread; every
    receiver started is shut down after the test, and waits (bounded) for its events."""
    started: list[tuple[ReceiverServer, threading.Thread]] = []

    def start(
        *, kubeconfig: Path | None = None, settings: dict[str, Any] | None = None, **config: Any
    ) -> ReceiverServer:
        base = Settings(kubeconfig=kubeconfig, report_dir=tmp_path / "reports", rollout_timeout=60)
        for name, value in (settings or {}).items():
            base = _replace(base, name, value)
        config.setdefault("token", TOKEN)
        server = build_server(ServeConfig(settings=base, listen=Listen("127.0.0.1", 0), **config), io.StringIO())
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(10)
        assert server.desk.wait_idle(120), "an event was still running two minutes after its test"


def _replace(settings: Settings, name: str, value: object) -> Settings:
    import dataclasses

    return dataclasses.replace(settings, **{name: value})


@pytest.fixture
def cluster_receiver(start_receiver: StartReceiver, localenv: LocalEnv) -> Callable[..., ReceiverServer]:
    """A receiver that acts on the local environment's cluster."""

    def start(**config: Any) -> ReceiverServer:
        return start_receiver(kubeconfig=localenv.kubeconfig, **config)

    return start


@pytest.fixture
def notification_sink() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A real HTTP server on 127.0.0.1 standing in for a team's webhook receiver: its URL and what it got."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()
