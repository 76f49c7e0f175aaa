"""The demo service: a tiny HTTP API whose health, errors and latency are steered by environment knobs.

Every ``rollcheck-demo:<tag>`` container in the local environment runs as this process, so a "bad release"
is just a Deployment whose pod template sets one of the knobs:

- ``DEMO_ERROR_RATE`` (0..1): fraction of API requests answered 500.
- ``DEMO_LATENCY_MS``: latency added to every API request.
- ``DEMO_HEALTH_FAIL=1``: ``/health`` answers 503, so the pod never becomes Ready.
- ``DEMO_CRASH=1``: exit 1 right after start, so the pod crash-loops.
- ``DEMO_FAULT_AFTER_S``: the error and latency knobs only take effect this many seconds after start.
- ``DEMO_HEALTH_FLAP_S=N``: ``/health`` answers 200 for N seconds, then 503 for N seconds, and so on. The phase
  follows the wall clock, not the process start, so every pod of a release flaps together (as when a shared
  dependency flaps) and the workload has no Ready pod while the phase lasts.

Run: ``python -m rollcheck_localenv.demo_service --port PORT --version TAG`` (``PORT`` and ``DEMO_VERSION``
are the environment fallbacks). It binds 127.0.0.1 only and exits 0 on SIGTERM.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Histogram
from prometheus_client import disable_created_metrics
from prometheus_client import generate_latest

LOG = logging.getLogger("rollcheck_localenv.demo_service")

# Fine enough around typical SLO thresholds that histogram_quantile(0.99, ...) lands within a bucket of truth.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5)
ITEMS = ({"id": 1, "name": "teapot"}, {"id": 2, "name": "kettle"}, {"id": 3, "name": "mug"})
TRUE_WORDS = frozenset({"1", "true", "yes"})
FALSE_WORDS = frozenset({"", "0", "false", "no"})
EXIT_BAD_KNOB = 2
DESCRIPTION = "A tiny HTTP API whose health, errors and latency are steered by DEMO_* environment knobs."


class KnobError(ValueError):
    """A knob (environment variable or flag) has a value the service cannot use."""

    def __init__(self, variable: str, value: str, expected: str) -> None:
        super().__init__(f"invalid {variable}={value!r}: expected {expected}")


@dataclass(frozen=True, kw_only=True)
class Knobs:
    """The fault knobs, parsed and validated once at start."""

    error_rate: float = 0.0
    latency_s: float = 0.0
    health_fail: bool = False
    crash: bool = False
    fault_after_s: float = 0.0
    health_flap_s: float = 0.0


@dataclass(frozen=True)
class Response:
    """What one request is answered with."""

    status: int
    body: bytes
    content_type: str = "application/json"


def _env_number(env: Mapping[str, str], name: str, *, maximum: float = math.inf) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return 0.0
    expected = f"a number between 0 and {maximum:g}" if math.isfinite(maximum) else "a number >= 0"
    try:
        value = float(raw)
    except ValueError:
        raise KnobError(name, raw, expected) from None
    if not (math.isfinite(value) and 0 <= value <= maximum):
        raise KnobError(name, raw, expected)
    return value


def _env_flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise KnobError(name, env[name], "1 or 0")


def knobs_from_env(env: Mapping[str, str]) -> Knobs:
    """Read the DEMO_* knobs; raise KnobError naming the first variable whose value is unusable."""
    return Knobs(
        error_rate=_env_number(env, "DEMO_ERROR_RATE", maximum=1.0),
        latency_s=_env_number(env, "DEMO_LATENCY_MS") / 1000.0,
        health_fail=_env_flag(env, "DEMO_HEALTH_FAIL"),
        crash=_env_flag(env, "DEMO_CRASH"),
        fault_after_s=_env_number(env, "DEMO_FAULT_AFTER_S"),
        health_flap_s=_env_number(env, "DEMO_HEALTH_FLAP_S"),
    )


def _json(status: int, payload: Any) -> Response:
    return Response(status, json.dumps(payload).encode())


class DemoApp:
    """Routes, knobs and metrics of one service instance, independent of the HTTP server plumbing."""

    def __init__(
        self,
        version: str,
        knobs: Knobs,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.version = version
        self.knobs = knobs
        self._clock = clock
        self._wall_clock = wall_clock
        self._started = clock()
        self._random = random.Random()
        self._order_ids = itertools.count(1)
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "http_requests_total",
            "HTTP requests answered, by status code, method and route.",
            ["code", "method", "path"],
            registry=self.registry,
        )
        self._duration = Histogram(
            "http_request_duration_seconds",
            "Time to answer HTTP requests, by method and route.",
            ["method", "path"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._routes: dict[tuple[str, str], Callable[[bytes], Response]] = {
            ("GET", "/health"): self._health,
            ("GET", "/version"): self._version,
            ("GET", "/metrics"): self._metrics,
            ("GET", "/api/items"): self._items,
            ("POST", "/api/orders"): self._create_order,
        }
        self._route_paths = {path for _, path in self._routes}
        # Only the API and /health are measured: scrapes of /metrics would otherwise dominate request counts.
        self._measured_paths = {p for p in self._route_paths if p == "/health" or p.startswith("/api/")}

    def handle(self, method: str, raw_path: str, body: bytes) -> Response:
        """Answer one request and record it in the metrics when its route is one that is measured."""
        started = time.perf_counter()
        path = urlsplit(raw_path).path
        handler = self._routes.get((method, path))
        if handler is None:
            status = 405 if path in self._route_paths else 404
            response = _json(status, {"error": f"no route for {method} {path}"})
        elif path.startswith("/api/"):
            response = self._with_faults(handler, body)
        else:
            response = handler(body)
        # The label is the route template, never an unmatched raw URL, so label cardinality stays bounded.
        if path in self._measured_paths:
            self._requests.labels(code=str(response.status), method=method, path=path).inc()
            self._duration.labels(method=method, path=path).observe(time.perf_counter() - started)
        return response

    def faults_active(self) -> bool:
        """Whether DEMO_FAULT_AFTER_S has elapsed, so the error and latency knobs apply."""
        return self._clock() - self._started >= self.knobs.fault_after_s

    def _with_faults(self, handler: Callable[[bytes], Response], body: bytes) -> Response:
        if not self.faults_active():
            return handler(body)
        if self.knobs.latency_s:
            time.sleep(self.knobs.latency_s)
        if self._random.random() < self.knobs.error_rate:
            return _json(500, {"error": "injected failure (DEMO_ERROR_RATE)", "version": self.version})
        return handler(body)

    def health_flapped_down(self) -> bool:
        """Whether DEMO_HEALTH_FLAP_S puts /health in its failing half-period right now."""
        period = self.knobs.health_flap_s
        return bool(period) and int(self._wall_clock() // period) % 2 == 1

    def _health(self, _body: bytes) -> Response:
        if self.knobs.health_fail:
            return _json(503, {"status": "failing", "version": self.version, "reason": "DEMO_HEALTH_FAIL=1"})
        if self.health_flapped_down():
            return _json(503, {"status": "failing", "version": self.version, "reason": "DEMO_HEALTH_FLAP_S"})
        return _json(200, {"status": "ok", "version": self.version})

    def _version(self, _body: bytes) -> Response:
        return _json(200, {"version": self.version})

    def _metrics(self, _body: bytes) -> Response:
        return Response(200, generate_latest(self.registry), CONTENT_TYPE_LATEST)

    def _items(self, _body: bytes) -> Response:
        return _json(200, {"items": list(ITEMS), "version": self.version})

    def _create_order(self, body: bytes) -> Response:
        try:
            order = json.loads(body or b"{}")
        except ValueError:
            return _json(400, {"error": "request body is not JSON"})
        order_id = next(self._order_ids)
        return _json(201, {"id": order_id, "status": "accepted", "order": order, "version": self.version})


class DemoHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that carries the DemoApp its handlers answer with."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: DemoApp) -> None:
        self.app = app
        super().__init__(address, DemoRequestHandler)


class DemoRequestHandler(BaseHTTPRequestHandler):
    """Adapts http.server requests to DemoApp.handle."""

    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections must not pin handler threads forever
    # Headers and body go out in separate writes; with Nagle on, delayed ACKs add ~40 ms to every response.
    disable_nagle_algorithm = True
    server: DemoHTTPServer

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        response = self.server.app.handle(self.command, self.path, body)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        # One access line per request would flood the pod log under load; keep it for debugging only.
        LOG.debug(format, *args)


def _parse_args(argv: list[str] | None, env: Mapping[str, str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="rollcheck_localenv.demo_service", description=DESCRIPTION)
    parser.add_argument("--port", default=env.get("PORT", ""), help="TCP port on 127.0.0.1 (env PORT)")
    parser.add_argument(
        "--version", default=env.get("DEMO_VERSION", "dev"), help="version to report (env DEMO_VERSION)"
    )
    args = parser.parse_args(argv)
    port_text = str(args.port).strip()
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise KnobError("--port/PORT", port_text, "a TCP port number 1..65535")
    return int(port_text), str(args.version)


def serve_until_terminated(server: DemoHTTPServer) -> None:
    """Serve until SIGTERM or SIGINT, then stop accepting requests and return."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    serving.start()
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()


def main(argv: list[str] | None = None) -> int:
    """Validate the knobs, then serve until terminated; returns the process exit code."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    try:
        port, version = _parse_args(argv, os.environ)
        knobs = knobs_from_env(os.environ)
    except KnobError as error:
        LOG.error("%s", error)
        return EXIT_BAD_KNOB
    if knobs.crash:
        LOG.error("DEMO_CRASH=1 is set: exiting with code 1 on purpose")
        return 1
    # The *_created series only add noise to every scrape in the local Prometheus.
    disable_created_metrics()
    try:
        server = DemoHTTPServer(("127.0.0.1", port), DemoApp(version, knobs))
    except OSError as error:
        LOG.error("cannot listen on 127.0.0.1:%d: %s", port, error)
        return 1
    LOG.info("version %s serving on 127.0.0.1:%d with %s", version, port, knobs)
    if knobs.fault_after_s:
        # The wall-clock moment, so a test can time detection from when the fault really began.
        LOG.info("faults take effect at unix time %.3f", time.time() + knobs.fault_after_s)
    serve_until_terminated(server)
    LOG.info("terminated, exiting")
    return 0


if __name__ == "__main__":
    sys.exit(main())
