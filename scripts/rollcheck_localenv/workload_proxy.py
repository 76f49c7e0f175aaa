"""The kube-proxy stand-in: one loopback reverse proxy per exposed workload, round-robin over its Ready pods.

A Deployment, StatefulSet or DaemonSet with the annotation ``localenv.rollcheck.dev/port: "<N>"`` is served on
127.0.0.1:N, like a Service would be. The proxy answers 503 while no pod is Ready and 502 when the chosen pod
does not answer; otherwise it passes the request and the upstream response through unchanged, minus the
hop-by-hop headers.
"""

from __future__ import annotations

import http.client
import itertools
import logging
import threading
import time
from collections.abc import Callable
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any

from .kube_objects import KubeObject
from .kube_objects import WorkloadRef
from .kube_objects import exposed_port
from .kube_objects import is_terminating

LOG = logging.getLogger("rollcheck_localenv.node_agent")

HOP_BY_HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
UPSTREAM_TIMEOUT_S = 10.0
BIND_RETRY_S = 10.0

Backends = Callable[[], list[int]]
"""The loopback ports of the Ready pods, asked again for every request."""


def _end_to_end(headers: list[tuple[str, str]], also_drop: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """Headers minus the hop-by-hop ones, including any the Connection header names."""
    named = {
        token.strip().lower() for name, value in headers if name.lower() == "connection" for token in value.split(",")
    }
    dropped = HOP_BY_HOP_HEADERS | named | also_drop
    return [(name, value) for name, value in headers if name.lower() not in dropped]


class ProxyServer(ThreadingHTTPServer):
    """A reverse proxy on 127.0.0.1:port for one workload."""

    daemon_threads = True

    def __init__(self, port: int, label: str, backends: Backends) -> None:
        self.label = label
        self.stopped = False
        self._backends = backends
        self._turn = itertools.count()
        super().__init__(("127.0.0.1", port), ProxyHandler)

    def pick_backend(self) -> int | None:
        """The next Ready pod's port in round-robin order, or None when no pod is Ready."""
        ports = self._backends()
        return ports[next(self._turn) % len(ports)] if ports else None

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-response are routine under load; a traceback per hang-up is noise.
        LOG.debug("proxy %s: error serving %s", self.label, client_address, exc_info=True)


class ProxyHandler(BaseHTTPRequestHandler):
    """Forwards one request to a Ready pod and relays its response."""

    protocol_version = "HTTP/1.1"
    timeout = 10  # idle keep-alive connections close, so a stopped proxy stops serving soon
    disable_nagle_algorithm = True  # headers and body are separate writes; see demo_service
    server: ProxyServer

    def _forward(self) -> None:
        if self.server.stopped:
            self.close_connection = True
            self._reply_text(503, f"{self.server.label} is no longer exposed here\n")
            return
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True  # the unread body would corrupt the next request on this connection
            self._reply_text(411, "chunked request bodies are not supported; send Content-Length\n")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else None
        port = self.server.pick_backend()
        if port is None:
            self._reply_text(503, f"no Ready pod behind {self.server.label}\n")
            return
        try:
            upstream = self._call_upstream(port, body)
        except (OSError, http.client.HTTPException) as error:
            self._reply_text(502, f"pod at 127.0.0.1:{port} behind {self.server.label} did not answer: {error}\n")
            return
        status, reason, headers, payload = upstream
        self.send_response_only(status, reason)
        if self.command == "HEAD":  # the upstream's Content-Length describes the body a GET would get
            headers_out = _end_to_end(headers)
        else:
            headers_out = [*_end_to_end(headers, frozenset({"content-length"})), ("Content-Length", str(len(payload)))]
        for name, value in headers_out:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _call_upstream(self, port: int, body: bytes | None) -> tuple[int, str, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=UPSTREAM_TIMEOUT_S)
        try:
            connection.request(self.command, self.path, body=body, headers=dict(_end_to_end(self.headers.items())))
            response = connection.getresponse()
            return response.status, response.reason, response.getheaders(), response.read()
        finally:
            connection.close()

    def _reply_text(self, status: int, text: str) -> None:
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("proxy %s: " + format, self.server.label, *args)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward


def start_proxy(port: int, label: str, backends: Backends) -> ProxyServer:
    """Listen on 127.0.0.1:port and serve in a background thread; raises OSError if the port is taken."""
    server = ProxyServer(port, label, backends)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.2}, name=f"proxy-{port}", daemon=True
    ).start()
    return server


def stop_proxy(server: ProxyServer) -> None:
    """Stop accepting connections and release the port."""
    server.stopped = True
    server.shutdown()
    server.server_close()


class ProxyManager:
    """Keeps exactly one proxy running for every workload that asks for a port."""

    def __init__(self, ready_ports: Callable[[WorkloadRef], list[int]]) -> None:
        self._ready_ports = ready_ports
        self._running: dict[WorkloadRef, tuple[int, ProxyServer]] = {}
        self._unbindable: dict[WorkloadRef, tuple[int, float]] = {}
        """Workloads whose port was taken: the port and when to try again."""
        self._reported: set[tuple[WorkloadRef, str]] = set()

    def sync(self, workloads: Mapping[WorkloadRef, KubeObject]) -> None:
        """Start, move and stop proxies so they match the workloads' port annotations."""
        wanted = self._wanted_ports(workloads)
        for ref, (port, server) in list(self._running.items()):
            if wanted.get(ref) != port:
                stop_proxy(server)
                del self._running[ref]
                LOG.info("%s no longer exposed on port %d", ref, port)
        for ref, port in wanted.items():
            if ref not in self._running:
                self._start(ref, port)

    def _wanted_ports(self, workloads: Mapping[WorkloadRef, KubeObject]) -> dict[WorkloadRef, int]:
        wanted: dict[WorkloadRef, int] = {}
        for ref, workload in workloads.items():
            try:
                port = exposed_port(workload)
            except ValueError as error:
                self._report_once(ref, f"{ref} is not exposed: {error}")
                continue
            if port is not None and not is_terminating(workload):
                wanted[ref] = port
        return wanted

    def _start(self, ref: WorkloadRef, port: int) -> None:
        previous_failure = self._unbindable.get(ref)
        if previous_failure and previous_failure[0] == port and time.monotonic() < previous_failure[1]:
            return
        try:
            self._running[ref] = (port, start_proxy(port, str(ref), lambda: self._ready_ports(ref)))
        except OSError as error:
            self._unbindable[ref] = (port, time.monotonic() + BIND_RETRY_S)
            self._report_once(
                ref, f"cannot expose {ref} on 127.0.0.1:{port}: {error}; retrying every {BIND_RETRY_S:g}s"
            )
            return
        self._unbindable.pop(ref, None)
        LOG.info("%s exposed on 127.0.0.1:%d", ref, port)

    def _report_once(self, ref: WorkloadRef, message: str) -> None:
        if (ref, message) not in self._reported:
            self._reported.add((ref, message))
            LOG.error("%s", message)

    def exposed(self) -> dict[WorkloadRef, int]:
        """The workloads with a running proxy, and their ports."""
        return {ref: port for ref, (port, _) in self._running.items()}

    def stop_all(self) -> None:
        for _, server in self._running.values():
            stop_proxy(server)
        self._running.clear()
