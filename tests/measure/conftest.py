"""Fixtures for the measure layer's tests: scripted loopback servers and the demo service."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import pytest
from loopback import REPO_ROOT
from loopback import Handle
from loopback import Served

from localenv_support import free_port
from localenv_support import wait_for_port


@pytest.fixture
def serve() -> Iterator[Callable[[Handle], Served]]:
    """Start a ThreadingHTTPServer whose GET/POST requests are answered by `handle(request_handler)`."""
    running: list[tuple[ThreadingHTTPServer, Served]] = []

    def start(handle: Handle) -> Served:
        served: Served

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                served.paths.append(self.path)
                served.headers.append(dict(self.headers.items()))
                handle(self)

            do_POST = do_GET

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        served = Served(url=f"http://127.0.0.1:{server.server_address[1]}")
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        running.append((server, served))
        return served

    yield start
    for server, served in running:
        served.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def demo_service() -> Iterator[Callable[..., str]]:
    """Start the demo service (`python -m rollcheck_localenv.demo_service`) with DEMO_* knobs; returns its URL."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(**knobs: str) -> str:
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "scripts"), **knobs}
        argv = [sys.executable, "-m", "rollcheck_localenv.demo_service", "--port", str(port), "--version", "v1"]
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(process)
        wait_for_port(port)
        return f"http://127.0.0.1:{port}"

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)
