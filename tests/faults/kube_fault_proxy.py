"""A loopback HTTP proxy in front of the real kube-apiserver that injects the faults the server will not produce
on demand: 409, 429 and 5xx answers with Retry-After, answers lost after the request was applied, and watch
streams cut before their first event. Everything else is forwarded to the real API server and answered by it.

rollcheck talks plain HTTP to the proxy (a kubeconfig without credentials); the proxy talks TLS to the API server
as the environment's admin. This is the test's own seam, not rollcheck's: rollcheck's client is unchanged.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path

from localenv_support import LocalEnv

#: Headers that describe one hop of a connection, never forwarded.
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "accept-encoding"}


@dataclass
class Fault:
    """Answer `status` instead of forwarding, to the next `times` requests that match."""

    method: str
    path_contains: str
    status: int
    retry_after: str | None = None
    times: int = 1
    forward_first: bool = False
    """Forward the request to the API server (so it takes effect), then drop the connection unanswered: an
    answer lost on the way back. `status` is then unused."""
    query_contains: str = ""
    armed_by: str | None = None
    """Injected only once a request of this method has reached the proxy (`"PATCH"`: only after the rollback's
    first PATCH, so the reads before it still get through)."""

    def matches(self, method: str, target: str) -> bool:
        path, _, query = target.partition("?")
        return (
            self.times > 0
            and method == self.method
            and self.path_contains in path
            and self.query_contains in query
            and "dryRun" not in query
        )


@dataclass(frozen=True)
class Seen:
    at: float
    method: str
    target: str
    injected: int | None
    """The status injected, 0 for a dropped answer or a cut watch, None when the API server answered."""


class KubeFaultProxy:
    """Forward to the API server of `localenv`, injecting `faults` (in order of the list, first match wins) and
    cutting the first `cut_watches` watch streams right after their response headers."""

    def __init__(self, localenv: LocalEnv, directory: Path) -> None:
        self.upstream = ("127.0.0.1", localenv.layout.ports.apiserver)
        pki = localenv.state_dir / "pki"
        self.tls = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.tls.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        self.faults: list[Fault] = []
        self.cut_watches = 0
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True
        self.kubeconfig = directory / "proxy-kubeconfig"
        self.kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: proxy\n  cluster:\n    server: http://127.0.0.1:{self.server.server_port}\n"
            "users:\n- name: anonymous\n  user: {}\n"
            "contexts:\n- name: proxy\n  context:\n    cluster: proxy\n    user: anonymous\n"
            "current-context: proxy\n"
        )

    def injected(self, method: str) -> list[Seen]:
        with self.lock:
            return [seen for seen in self.seen if seen.method == method]

    def note(self, method: str, target: str, injected: int | None) -> None:
        with self.lock:
            self.seen.append(Seen(time.monotonic(), method, target, injected))

    def take_fault(self, method: str, target: str) -> Fault | None:
        with self.lock:
            methods_seen = {seen.method for seen in self.seen}
            for fault in self.faults:
                if fault.matches(method, target) and (fault.armed_by is None or fault.armed_by in methods_seen):
                    fault.times -= 1
                    return fault
        return None

    def take_watch_cut(self) -> bool:
        with self.lock:
            if self.cut_watches <= 0:
                return False
            self.cut_watches -= 1
            return True


@contextlib.contextmanager
def running(proxy: KubeFaultProxy) -> Iterator[KubeFaultProxy]:
    thread = threading.Thread(target=proxy.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.server.shutdown()
        proxy.server.server_close()
        thread.join(timeout=10)


def _handler_for(proxy: KubeFaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass  # one line per request would bury the test's own output

        def do_GET(self) -> None:
            self._handle()

        def do_PATCH(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def do_DELETE(self) -> None:
            self._handle()

        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fault = proxy.take_fault(self.command, self.path)
            if fault is not None and not fault.forward_first:
                proxy.note(self.command, self.path, fault.status)
                self._answer_status(fault)
                return
            upstream = http.client.HTTPSConnection(*proxy.upstream, context=proxy.tls, timeout=90)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                response = upstream.getresponse()
                if fault is not None:
                    response.read()  # the API server has acted on it; its answer never reaches the client
                    proxy.note(self.command, self.path, 0)
                    self._drop()
                elif "watch=true" in self.path and response.status == 200:
                    self._stream(response)
                else:
                    data = response.read()
                    proxy.note(self.command, self.path, None)
                    self.send_response(response.status)
                    self._copy_headers(response)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
            finally:
                upstream.close()

        def _answer_status(self, fault: Fault) -> None:
            reason = http.client.responses.get(fault.status, "Error")
            status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": fault.status}
            status |= {"reason": reason.replace(" ", ""), "message": f"injected by the test's proxy: {reason}"}
            data = json.dumps(status).encode()
            self.send_response(fault.status)
            self.send_header("Content-Type", "application/json")
            if fault.retry_after is not None:
                self.send_header("Retry-After", fault.retry_after)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, response: http.client.HTTPResponse) -> None:
            cut = proxy.take_watch_cut()
            proxy.note(self.command, self.path, 0 if cut else None)
            self.send_response(response.status)
            self._copy_headers(response)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            if cut:
                self._drop()  # the stream breaks without its closing chunk, as when a load balancer drops it
                return
            try:
                while line := response.readline():
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client closed its watch once it had seen what it waited for

        def _copy_headers(self, response: http.client.HTTPResponse) -> None:
            for key, value in response.getheaders():
                if key.lower() not in _HOP_HEADERS:
                    self.send_header(key, value)

        def _drop(self) -> None:
            self.close_connection = True
            with contextlib.suppress(OSError):  # the client may have gone away first
                self.connection.shutdown(socket.SHUT_RDWR)

    return Handler
