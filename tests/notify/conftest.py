"""Fixtures: notification receivers on 127.0.0.1, and a URL where nothing listens."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from notify_support import Receiver
from notify_support import handler_for


@pytest.fixture
def receiver_factory() -> Iterator[Any]:
    servers: list[tuple[ThreadingHTTPServer, Receiver]] = []

    def start(**kwargs: Any) -> Receiver:
        server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
        server.daemon_threads = True
        receiver = Receiver(port=server.server_address[1], **kwargs)
        server.RequestHandlerClass = handler_for(receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append((server, receiver))
        return receiver

    yield start
    for server, receiver in servers:
        receiver.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(receiver_factory: Any) -> Receiver:
    found: Receiver = receiver_factory()
    return found


@pytest.fixture
def refused_url() -> str:
    """A loopback URL where nothing listens: the port was free a moment ago and is closed again."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook/refusedtoken"
