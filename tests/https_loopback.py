"""An HTTPS server on 127.0.0.1 with a certificate from a throw-away CA, for the tests that prove rollcheck
verifies certificates (and can be told which CA to trust)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path

from rollcheck_localenv.pki import create_ca
from rollcheck_localenv.pki import issue


@contextmanager
def serving_https(workdir: Path, handler: type[BaseHTTPRequestHandler]) -> Iterator[tuple[str, Path]]:
    """Serve `handler` over TLS until the block ends; yields the base URL and the CA file that signed it."""
    ca = create_ca(workdir / "ca")
    leaf = issue(ca, workdir / "leaf", "server", common_name="loopback", server=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(leaf.cert, leaf.key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", ca.cert
    finally:
        server.shutdown()
        server.server_close()
