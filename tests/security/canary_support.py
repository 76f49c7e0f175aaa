"""Canary secrets and the loopback servers that must receive them: a recording proxy in front of the real
Prometheus and a recording notification receiver. `leaks` finds a canary, in any of the forms a secret is
usually written in, in any output."""

from __future__ import annotations

import base64
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import httpx

# Hop-by-hop and length headers are the proxy's own business on each side.
_NOT_FORWARDED = {"host", "connection", "content-length", "transfer-encoding", "accept-encoding"}


def canary(kind: str) -> str:
    """A secret no output could contain by chance: its kind (for the failure message) and 24 random hex digits."""
    return f"canary{kind}{uuid.uuid4().hex[:24]}"


def forms(secret: str) -> list[str]:
    """The ways a secret ends up written down: as is, URL-encoded, and base64 (standard and URL-safe, padded or
    not). A base64 text of something *containing* the secret (a Basic credential) is passed in as its own secret."""
    encoded = base64.b64encode(secret.encode()).decode()
    url_safe = base64.urlsafe_b64encode(secret.encode()).decode()
    found = {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        encoded,
        encoded.rstrip("="),
        url_safe,
        url_safe.rstrip("="),
    }
    return sorted(found)


def leaks(outputs: Mapping[str, str], secrets: Mapping[str, str]) -> list[str]:
    """`"<secret name> in <output name>"` for every secret found in any of its forms in any output."""
    return [
        f"{secret_name} in {output_name}"
        for output_name, text in outputs.items()
        for secret_name, secret in secrets.items()
        if any(form in text for form in forms(secret))
    ]


@dataclass
class Request:
    method: str
    target: str
    """The path with its query string, as sent."""
    headers: dict[str, str]
    body: bytes


@dataclass
class Recording:
    url: str
    requests: list[Request] = field(default_factory=list)

    def header_values(self, name: str) -> set[str]:
        return {value for request in self.requests for key, value in request.headers.items() if key.lower() == name}


def _handler(recording: Recording, answer: httpx.Client | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            recording.requests.append(Request(self.command, self.path, dict(self.headers), body))
            if answer is None:  # a notification receiver: every sink takes this as delivered (WeCom's errcode 0)
                status, headers, payload = 200, {"Content-Type": "application/json"}, b'{"errcode":0,"errmsg":"ok"}'
            else:
                forwarded = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED}
                response = answer.request(self.command, self.path, headers=forwarded, content=body)
                status, payload = response.status_code, response.content
                headers = {"Content-Type": response.headers.get("Content-Type", "application/json")}
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(payload))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass  # what arrived is in `recording`

    return Handler


@contextmanager
def recording_server(upstream: str | None = None) -> Iterator[Recording]:
    """A server on 127.0.0.1 recording every request; it forwards to `upstream` when given (a recording proxy),
    else answers 200 like a notification receiver."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    recording = Recording(f"http://127.0.0.1:{server.server_address[1]}")
    with httpx.Client(base_url=upstream, timeout=30) if upstream else _no_client() as client:
        server.RequestHandlerClass = _handler(recording, client)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield recording
        finally:
            server.shutdown()
            server.server_close()
            thread.join(10)


@contextmanager
def _no_client() -> Iterator[None]:
    yield None
