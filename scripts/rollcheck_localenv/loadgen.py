"""The load generator: steady traffic to every exposed workload, so Prometheus always has rates to compare.

Run: ``python -m rollcheck_localenv.loadgen --state-dir DIR [--rate 20]`` (``LOCALENV_LOAD_RATE`` is the
environment fallback for the rate). Every second it re-reads ``DIR/workloads.json``, written by the node agent,
so new workloads get traffic without a restart. Each workload gets about RATE requests a second, mostly
``GET /api/items`` and some ``POST /api/orders``, always to 127.0.0.1; a workload annotated
``localenv.rollcheck.dev/load-rate: "<R>"`` gets R a second instead (the node agent copies it into the file as
``rate``), so low traffic can be tested beside normal traffic. Failures are counted, never fatal.
SIGTERM or SIGINT stops it with exit code 0.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

LOG = logging.getLogger("rollcheck_localenv.loadgen")

DEFAULT_RATE = 20.0
REQUEST_TIMEOUT_S = 2.0
MAX_IN_FLIGHT = 64
"""Requests waiting on slow workloads beyond this are skipped (and counted), not queued without bound."""
ORDER_SHARE = 0.1
RELOAD_EVERY_S = 1.0
REPORT_EVERY_S = 30.0
MAX_CATCH_UP_S = 1.0
"""After a stall, send at most this many seconds' worth of overdue requests."""
EXIT_BAD_ARGUMENT = 2


@dataclass(frozen=True, order=True)
class Target:
    """An exposed workload as workloads.json lists it."""

    namespace: str
    kind: str
    name: str
    port: int
    rate: float | None = None
    """Requests a second the workload asked for; None means the generator's rate."""

    @property
    def base_url(self) -> str:
        # Loopback only, whatever the file says: there is deliberately no host field to honour.
        return f"http://127.0.0.1:{self.port}"

    def __str__(self) -> str:
        return f"{self.kind.lower()} {self.namespace}/{self.name}"


def _target_from(entry: Any) -> Target | None:
    if not isinstance(entry, Mapping):
        return None
    port = entry.get("port")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        return None
    rate = entry.get("rate")
    if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 <= rate < math.inf:
        rate = None
    namespace, kind, name = (str(entry.get(key, "")) for key in ("namespace", "kind", "name"))
    return Target(namespace, kind, name, port, None if rate is None else float(rate))


def read_targets(path: Path) -> list[Target]:
    """The workloads in `path`; none while the file is missing or unreadable, skipping malformed entries."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(document, list):
        return []
    return sorted(target for target in map(_target_from, document) if target is not None)


class LoadGenerator:
    """Sends RATE requests a second to each target through a bounded pool of worker threads."""

    def __init__(self, workloads_file: Path, rate: float, stop: threading.Event) -> None:
        self._workloads_file = workloads_file
        self._rate = rate
        self._stop = stop
        # trust_env=False: an HTTP(S)_PROXY setting must never route loopback traffic elsewhere.
        self._client = httpx.Client(timeout=REQUEST_TIMEOUT_S, trust_env=False)
        self._workers = ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT, thread_name_prefix="load")
        self._slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)
        self._tally: Counter[tuple[Target, str]] = Counter()
        self._tally_lock = threading.Lock()
        self._random = random.Random()

    def run(self) -> None:
        """Generate load until stopped, then wait for requests in flight."""
        due: dict[Target, float] = {}
        next_reload = next_report = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_reload:
                due = self._reload(due, now)
                next_reload = now + RELOAD_EVERY_S
            if now >= next_report:
                self._report()
                next_report = now + REPORT_EVERY_S
            for target, when in due.items():
                due[target] = self._send_due(target, max(when, now - MAX_CATCH_UP_S), now)
            self._stop.wait(max(0.0, min([next_reload, *due.values()]) - time.monotonic()))
        self._workers.shutdown(wait=True, cancel_futures=True)
        self._client.close()
        self._report()

    def _reload(self, due: dict[Target, float], now: float) -> dict[Target, float]:
        targets = read_targets(self._workloads_file)
        for target in set(targets) - set(due):
            LOG.info("sending ~%g requests/s to %s on 127.0.0.1:%d", self._rate_of(target), target, target.port)
        for target in set(due) - set(targets):
            LOG.info("%s is no longer exposed; no more traffic to it", target)
        return {target: due.get(target, now) for target in targets}

    def _rate_of(self, target: Target) -> float:
        return self._rate if target.rate is None else target.rate

    def _send_due(self, target: Target, when: float, now: float) -> float:
        rate = self._rate_of(target)
        if rate <= 0:
            return math.inf
        while when <= now:
            self._send_soon(target)
            when += 1.0 / rate
        return when

    def _send_soon(self, target: Target) -> None:
        if not self._slots.acquire(blocking=False):
            self._count(target, "skipped")
            return
        future = self._workers.submit(self._request, target)
        future.add_done_callback(lambda _: self._slots.release())

    def _request(self, target: Target) -> None:
        try:
            if self._random.random() < ORDER_SHARE:
                order = {"item": self._random.randint(1, 3), "quantity": 1}
                response = self._client.post(f"{target.base_url}/api/orders", json=order)
            else:
                response = self._client.get(f"{target.base_url}/api/items")
        except httpx.HTTPError:
            self._count(target, "failed")
            return
        self._count(target, "failed" if response.status_code >= 500 else "ok")

    def _count(self, target: Target, outcome: str) -> None:
        with self._tally_lock:
            self._tally[(target, outcome)] += 1

    def _report(self) -> None:
        with self._tally_lock:
            tally, self._tally = self._tally, Counter()
        for target in sorted({target for target, _ in tally}):
            ok, failed, skipped = (tally[(target, outcome)] for outcome in ("ok", "failed", "skipped"))
            LOG.info("%s: %d ok, %d failed, %d skipped", target, ok, failed, skipped)


def _rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        rate = math.nan
    if not (math.isfinite(rate) and rate >= 0):
        raise argparse.ArgumentTypeError(f"invalid rate {text!r}: expected requests per second >= 0")
    return rate


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="rollcheck_localenv.loadgen", description="steady load on exposed workloads")
    parser.add_argument("--state-dir", type=Path, required=True, help="the node agent's state directory")
    parser.add_argument("--rate", type=_rate, help="requests per second per workload (env LOCALENV_LOAD_RATE)")
    args = parser.parse_args(argv)
    if args.rate is None:
        from_env = os.environ.get("LOCALENV_LOAD_RATE", "").strip()
        try:
            args.rate = _rate(from_env) if from_env else DEFAULT_RATE
        except argparse.ArgumentTypeError as error:
            parser.exit(EXIT_BAD_ARGUMENT, f"{parser.prog}: LOCALENV_LOAD_RATE: {error}\n")
    return args


def main(argv: list[str] | None = None) -> int:
    """Generate load until SIGTERM or SIGINT; returns the process exit code."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    # httpx logs every request at INFO: tens of lines a second that say nothing the tallies do not.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = _parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    LOG.info("load generator reading %s, %g requests/s per workload", args.state_dir / "workloads.json", args.rate)
    LoadGenerator(args.state_dir / "workloads.json", args.rate, stop).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
