"""The HTTP side of `rollcheck serve`: routes, authentication, body limits, and answers as small JSON objects.

Every request is checked in the same order, so a refused one has changed nothing: the route, then the bearer
token (compared in constant time), then the body's declared size, then its JSON. Each request runs on its own
thread (ThreadingHTTPServer) and a socket timeout bounds a slow client, so no caller can hold up another.
"""

from __future__ import annotations

import hmac
import json
import socket
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any
from typing import TextIO

from ._alerts import PayloadError
from ._alerts import parse_alertmanager
from ._config import ServeConfig
from ._events import EventDesk
from ._flagger import FlaggerGate
from ._flagger import parse_flagger
from ._metrics import CONTENT_TYPE
from ._metrics import ServeMetrics

__all__ = ["ReceiverServer", "build_server"]

_ALERTMANAGER = "/alertmanager"
_FLAGGER = "/flagger/check"
_POST_ROUTES = (_ALERTMANAGER, _FLAGGER)
#: Seconds a client may take to send its request; then the connection is dropped.
_CLIENT_TIMEOUT = 30.0


class ReceiverServer(ThreadingHTTPServer):
    """The receiver: its configuration, metrics and event desk live here, not in globals."""

    daemon_threads = True
    # socketserver's default backlog is 5. A burst of new connections (Alertmanager opens more while answers are
    # slow, as when the first event loads the Kubernetes client) overflowed it, and each dropped SYN cost the
    # caller a 1 s retransmission.
    request_queue_size = 128

    def __init__(self, config: ServeConfig, log: TextIO) -> None:
        self.config = config
        self.log = log
        self.metrics = ServeMetrics()
        self.desk = EventDesk(config, self.metrics, log)
        self.flagger = FlaggerGate(config, self.desk, self.metrics)
        family = socket.AF_INET6 if ":" in config.listen.host else socket.AF_INET
        self.address_family = family
        super().__init__((config.listen.host, config.listen.port), _Handler)

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), int(self.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"


def build_server(config: ServeConfig, log: TextIO) -> ReceiverServer:
    """A bound receiver, not yet serving: call `serve_forever()` (and `shutdown()` from another thread).
    Raises OSError when the address cannot be bound."""
    return ReceiverServer(config, log)


class _Handler(BaseHTTPRequestHandler):
    server: ReceiverServer
    timeout = _CLIENT_TIMEOUT
    protocol_version = "HTTP/1.1"
    # The headers and the body leave in two writes. With Nagle's algorithm on, the body waits for the ACK of
    # the headers, which a keep-alive client (Alertmanager) delays by up to 40 ms: every answer took 40 ms.
    disable_nagle_algorithm = True
    server_version = "rollcheck-serve"

    def do_GET(self) -> None:
        path = self._path()
        if self.headers.get("Content-Length", "0") != "0" or "Transfer-Encoding" in self.headers:
            # A GET's body is never read; on a kept-alive connection it would be parsed as the next request.
            self.close_connection = True
        if path in self._switched_off():
            self._switched_off_answer(path)
        elif path == "/healthz":
            self._send(HTTPStatus.OK, b"ok\n", "text/plain; charset=utf-8", endpoint=path)
        elif path == "/metrics":
            # Counted before rendering, so a scrape sees its own request.
            self.server.metrics.count("rollcheck_serve_requests_total", path, "200")
            body = self.server.metrics.render().encode()
            self._send(HTTPStatus.OK, body, CONTENT_TYPE, endpoint=None)
        elif path in _POST_ROUTES:
            self._json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": f"{path} takes POST"}, endpoint=path)
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: {path}"}, endpoint="other")

    def do_POST(self) -> None:
        path = self._path()
        if path in self._switched_off():
            self._switched_off_answer(path)
            return
        if path not in _POST_ROUTES:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: {path}"}, endpoint="other", close=True)
            return
        if not self._authorised():
            # The body is never read: an unauthenticated caller gets nothing parsed, and the connection closes.
            self._json(
                HTTPStatus.UNAUTHORIZED,
                {"error": "a valid bearer token is required (Authorization: Bearer …)"},
                endpoint=path,
                close=True,
                headers={"WWW-Authenticate": 'Bearer realm="rollcheck"'},
            )
            return
        read, data = self._body(path)
        if not read:
            return
        if path == _ALERTMANAGER:
            self._alertmanager(data)
        else:
            self._flagger(data)

    def _refuse_method(self) -> None:
        # Answered here rather than by the base class's 501: the method is known, this endpoint does not take it.
        path = self._path()
        allowed = "POST" if path in _POST_ROUTES else "GET"
        self._json(
            HTTPStatus.METHOD_NOT_ALLOWED,
            {"error": f"{path} takes {allowed}"},
            endpoint=path if path in _POST_ROUTES else "other",
            close=True,
            headers={"Allow": allowed},
        )

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _refuse_method

    def _switched_off(self) -> tuple[str, ...]:
        return (_FLAGGER,) if self.server.config.flagger_suite is None else ()

    def _switched_off_answer(self, path: str) -> None:
        # Before the token, like any route that does not exist: there is nothing here to protect.
        error = f"{path} is off: rollcheck serve was started without --flagger-suite, so it has no checks for canaries"
        self._json(HTTPStatus.NOT_FOUND, {"error": error}, endpoint=path, close=True)

    def _alertmanager(self, data: object) -> None:
        try:
            alerts = parse_alertmanager(data)
        except PayloadError as error:
            self._json(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": str(error)}, endpoint=_ALERTMANAGER)
            return
        admission = self.server.desk.admit(alerts)
        self._json(HTTPStatus(admission.status), admission.body, endpoint=_ALERTMANAGER)

    def _flagger(self, data: object) -> None:
        try:
            request = parse_flagger(data)
        except PayloadError as error:
            self._json(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": str(error)}, endpoint=_FLAGGER)
            return
        status, body = self.server.flagger.check(request)
        self._json(HTTPStatus(status), body, endpoint=_FLAGGER)

    def _authorised(self) -> bool:
        token = self.server.config.token
        if token is None:  # --no-auth, chosen explicitly and warned about at start
            return True
        scheme, _, given = (self.headers.get("Authorization") or "").partition(" ")
        # compare_digest on bytes: constant time whatever the characters, so timing reveals nothing of it.
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())

    def _body(self, path: str) -> tuple[bool, object]:
        """(True, the request's JSON), or (False, None) after answering why not (411, 413, 400)."""
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.isdigit():
            self._json(HTTPStatus.LENGTH_REQUIRED, {"error": "a Content-Length is required"}, endpoint=path, close=True)
            return False, None
        length, limit = int(length_text), self.server.config.max_body_bytes
        if length > limit:
            error = f"the body has {length} bytes; at most {limit} are accepted"
            self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": error}, endpoint=path, close=True)
            return False, None
        raw = self.rfile.read(length)
        try:
            data: object = json.loads(raw)
        # ValueError covers undecodable bytes, bad JSON and integers longer than Python reads; RecursionError,
        # nesting deeper than its stack. Either would otherwise kill the handler without an answer.
        except (ValueError, RecursionError) as error:
            self._json(HTTPStatus.BAD_REQUEST, {"error": f"the body is not valid JSON: {error}"}, endpoint=path)
            return False, None
        return True, data

    def _path(self) -> str:
        return urllib.parse.urlsplit(self.path).path

    def _json(
        self,
        status: HTTPStatus,
        body: dict[str, Any],
        *,
        endpoint: str,
        close: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        payload = (json.dumps(body, ensure_ascii=False) + "\n").encode()
        self._send(status, payload, "application/json", endpoint=endpoint, close=close, headers=headers)

    def _send(
        self,
        status: HTTPStatus,
        payload: bytes,
        content_type: str,
        *,
        endpoint: str | None,
        close: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        if endpoint is not None:
            self.server.metrics.count("rollcheck_serve_requests_total", endpoint, str(int(status)))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        # The method, the path without its query, the status: never a header, so never the token.
        if format == '"%s" %s %s' and len(args) == 3:
            method = str(args[0]).split(" ", 1)[0]
            path = urllib.parse.urlsplit(getattr(self, "path", "")).path
            line = f"{method} {path} {args[1]}"
        else:
            line = (format % args)[:300]
        self.server.log.write(f"rollcheck serve: {line}\n")
        self.server.log.flush()
