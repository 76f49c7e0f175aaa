"""`rollcheck serve` under load: Alertmanager webhooks at a fixed rate for 30 s, naming a handful of demo
Deployments, two of them a degraded release that must be rolled back exactly once however often it is reported.

The sender is open-loop: delivery i is due at start + i / rate whatever the earlier answers did, and its response
time is counted from when it was due, so a receiver that falls behind shows it in the figures instead of slowing
the sender down.
"""

from __future__ import annotations

import collections
import datetime
import functools
import gc
import hashlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from _cluster import VENV_BIN
from _cluster import Cluster
from _cluster import clean_env
from _cluster import wait_until
from _stats import Percentile
from _stats import Row
from _stats import Series
from _stats import absolute_row
from _stats import exact_row
from alertmanager_webhook import payload

from localenv_support import free_port
from rollcheck.rollback import ROLLED_BACK_FROM

RATE = 100.0
"""Deliveries a second."""
SECONDS = 30
#: Enough threads that a few slow answers (an event being admitted while another reads the cluster) never
#: delay the deliveries due after them; bounded, so the sender itself cannot swamp the machine.
SENDERS = 32
#: One delivery in this many is a group never seen before; the others repeat the standing groups.
DISTINCT_EVERY = 10
DEGRADED = ("degraded-0", "degraded-1")
STEADY = ("steady-0", "steady-1", "steady-2")
P99_GOAL_MS = 50.0


@dataclass(frozen=True)
class Delivery:
    """One webhook POST: its body and the status the receiver must answer."""

    body: bytes
    expected: int
    group: str


@dataclass(frozen=True)
class Answer:
    """What came back for one delivery."""

    delivery: Delivery
    status: int | None
    """None when the request failed (refused, reset, timed out)."""
    milliseconds: float
    """From when the delivery was due to when its answer was read."""
    answered_at: float
    started_events: int


def serve_under_load(cluster: Cluster, workdir: Path) -> list[Row]:
    folder = workdir / "serve-load"
    folder.mkdir(parents=True, exist_ok=True)
    token_file = folder / "token"
    token_file.write_text(hashlib.sha256(os.urandom(32)).hexdigest())
    token_file.chmod(0o600)
    report_dir = folder / "reports"
    with cluster.namespace("bench-serve") as namespace:
        _release_workloads(cluster, namespace)
        time.sleep(1.5)  # alerts start after the rollouts completed (whole-second timestamps), as the guards want
        since = datetime.datetime.now(datetime.UTC)
        deliveries = _deliveries(namespace, since)
        with _serve(cluster, namespace, token_file, report_dir, folder / "serve.log") as (url, pid):
            answers = _deliver(url, token_file.read_text(), deliveries)
            started = sum(answer.started_events for answer in answers)
            wait_until(lambda: len(list(report_dir.glob("*/report.json"))) >= started, what="every event's report")
            metrics = httpx.get(f"{url}/metrics", timeout=10).text
            peak_mb = _peak_rss_mb(pid)
        rollbacks = _rollbacks_per_group(cluster, namespace, report_dir, metrics)
    _check_answers(answers)
    times = tuple(answer.milliseconds for answer in answers)
    first_due = min(answer.answered_at - answer.milliseconds / 1000 for answer in answers)
    rate = len(answers) / (max(answer.answered_at for answer in answers) - first_due)
    count = len(answers)
    return [
        absolute_row(f"serve: webhook response time, p50 of {count} at {RATE:g}/s", Percentile(times, percent=50)),
        absolute_row(
            f"serve: webhook response time, p99 of {count} at {RATE:g}/s",
            Percentile(times, percent=99),
            below=P99_GOAL_MS,
        ),
        absolute_row("serve: peak RSS (VmHWM) after the load", Series((peak_mb,), "MB")),
        absolute_row(f"serve: deliveries answered a second (offered {RATE:g}/s)", Series((rate,), "/s"), at_least=95),
        exact_row("serve: rollbacks per firing alert group", Series(rollbacks, "rollbacks"), equal=1),
    ]


def _release_workloads(cluster: Cluster, namespace: str) -> None:
    """Steady workloads at v1 (one revision), degraded ones rolled forward to v2, which answers 500s."""
    for name in (*STEADY, *DEGRADED):
        cluster.deploy(namespace, name, "v1")
    for name in (*STEADY, *DEGRADED):
        wait_until(functools.partial(cluster.rolled_out, namespace, name), what=f"{name} at v1")
    for name in DEGRADED:
        cluster.set_version(namespace, name, "v2", env={"DEMO_ERROR_RATE": "0.5"})
    for name in DEGRADED:
        wait_until(functools.partial(cluster.rolled_out, namespace, name), what=f"{name} at v2")


def _deliveries(namespace: str, since: datetime.datetime) -> list[Delivery]:
    """The standing groups, repeated as Alertmanager repeats them, with a new group every DISTINCT_EVERY-th
    delivery: one resolved, one about a namespace serve may not touch, one naming no workload, one firing about
    a version the workload no longer runs (an event that is skipped), in turn."""

    def firing(deployment: str, version: str, key: str) -> dict[str, Any]:
        labels = {"namespace": namespace, "deployment": deployment, "version": version}
        return alert(labels, starts_at=since, fingerprint=_fingerprint(key))

    standing = [
        *((f"degraded {name}", 202, payload(firing(name, "v2", name))) for name in DEGRADED),
        ("stale versions", 202, payload(*(firing(name, "v0", f"stale {name}") for name in STEADY))),
        ("resolved", 200, payload({**firing(STEADY[0], "v1", "resolved"), "status": "resolved"})),
    ]
    deliveries: list[Delivery] = []
    total = int(RATE * SECONDS)
    for number in range(total):
        if number % DISTINCT_EVERY:
            name, status, body = standing[number % len(standing)]
        else:
            name, status, body = _distinct(namespace, since, number)
        deliveries.append(Delivery(json.dumps(body).encode(), status, name))
    return deliveries


def _distinct(namespace: str, since: datetime.datetime, number: int) -> tuple[str, int, dict[str, Any]]:
    kind = (number // DISTINCT_EVERY) % 4
    steady = STEADY[number % len(STEADY)]
    key = _fingerprint(f"distinct {number}")
    if kind == 0:
        labels = {"namespace": namespace, "deployment": steady}
        return "new resolved", 200, payload(alert(labels, status="resolved", starts_at=since, fingerprint=key))
    if kind == 1:
        labels = {"namespace": "kube-system", "deployment": "coredns"}
        return "new, namespace not allowed", 403, payload(alert(labels, starts_at=since, fingerprint=key))
    if kind == 2:
        labels = {"namespace": namespace, "service": steady}
        return "new, no workload named", 422, payload(alert(labels, starts_at=since, fingerprint=key))
    labels = {"namespace": namespace, "deployment": steady, "version": "v0"}
    return "new stale version", 202, payload(alert(labels, starts_at=since, fingerprint=key))


def _fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def alert(
    labels: dict[str, str], *, starts_at: datetime.datetime, fingerprint: str, status: str = "firing"
) -> dict[str, Any]:
    """One alert as Alertmanager's version 4 webhook writes it (Go's nanosecond times, `Z`)."""
    return {
        "status": status,
        "labels": {"alertname": "HighErrorRate", "severity": "page", **labels},
        "annotations": {"summary": "5xx above 10%"},
        "startsAt": starts_at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://127.0.0.1:19090/graph",
        "fingerprint": fingerprint,
    }


@contextmanager
def _serve(
    cluster: Cluster, namespace: str, token_file: Path, report_dir: Path, log: Path
) -> Iterator[tuple[str, int]]:
    """The real CLI on a free loopback port, allowed only `namespace`; its URL and pid. Stopped with SIGTERM,
    after which it must exit 0 by itself."""
    port = free_port()
    command = [
        str(VENV_BIN / "rollcheck"),
        "serve",
        f"--listen=127.0.0.1:{port}",
        f"--token-file={token_file}",
        f"--allow-namespace={namespace}",
        f"--kubeconfig={cluster.kubeconfig}",
        f"--report-dir={report_dir}",
        "--rollout-timeout=60s",
    ]
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=log.parent, env=clean_env(), stdout=output, stderr=output)
    try:
        wait_until(lambda: _healthy(url) or process.poll() is not None, what="rollcheck serve to answer", timeout=30)
        if process.poll() is not None:
            raise RuntimeError(f"rollcheck serve exited {process.returncode}:\n{log.read_text()[-3000:]}")
        yield url, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(90)
        except subprocess.TimeoutExpired:
            process.kill()
            raise RuntimeError(
                f"rollcheck serve did not stop within 90 s of SIGTERM:\n{log.read_text()[-3000:]}"
            ) from None
    if code != 0:
        raise RuntimeError(f"rollcheck serve exited {code} after SIGTERM:\n{log.read_text()[-3000:]}")


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _deliver(url: str, token: str, deliveries: list[Delivery]) -> list[Answer]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=SENDERS, max_keepalive_connections=SENDERS)
    with (
        _no_collector_pauses(),
        httpx.Client(base_url=url, headers=headers, timeout=10, limits=limits) as http,
        ThreadPoolExecutor(SENDERS, thread_name_prefix="alertmanager") as pool,
    ):
        start = time.perf_counter() + 0.2
        futures = []
        for number, delivery in enumerate(deliveries):
            due = start + number / RATE
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            futures.append(pool.submit(_post, http, delivery, due))
        return [future.result() for future in futures]


@contextmanager
def _no_collector_pauses() -> Iterator[None]:
    """The sender's own full garbage collection paused it for 200 ms some 17 s into every run, and that showed as
    serve's response time. For 30 s of sending the sender can keep its garbage."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _post(http: httpx.Client, delivery: Delivery, due: float) -> Answer:
    try:
        response = http.post("/alertmanager", content=delivery.body)
    except httpx.HTTPError:
        return Answer(delivery, None, (time.perf_counter() - due) * 1000, time.perf_counter(), 0)
    answered = time.perf_counter()
    started = sum(1 for result in response.json().get("alerts", []) if result.get("outcome") == "started")
    return Answer(delivery, response.status_code, (answered - due) * 1000, answered, started)


def _check_answers(answers: list[Answer]) -> None:
    wrong = collections.Counter(
        (answer.delivery.group, answer.status) for answer in answers if answer.status != answer.delivery.expected
    )
    if wrong:
        shown = ", ".join(f"{group}: {status} x{count}" for (group, status), count in wrong.most_common())
        raise RuntimeError(f"rollcheck serve answered deliveries with unexpected statuses: {shown}")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/status has no VmHWM line")


def _rollbacks_per_group(cluster: Cluster, namespace: str, report_dir: Path, metrics: str) -> tuple[float, ...]:
    """How many times each degraded Deployment was rolled back, by its reports, cross-checked with serve's
    /metrics and with the Deployment itself (back on v1, carrying rollcheck's marker). Raises unless each was
    rolled back exactly once and nothing else was."""
    reports = [json.loads(path.read_text()) for path in report_dir.glob("*/report.json")]
    rolled_back = collections.Counter(
        report["target"] for report in reports if report["rollback"]["action"] == "rolled_back"
    )
    expected = {f"deployment/{name}": 1 for name in DEGRADED}
    if dict(rolled_back) != expected:
        raise RuntimeError(f"rollbacks by target were {dict(rolled_back)}, expected {expected}")
    counted = _metric(metrics, 'rollcheck_serve_rollbacks_total{action="rolled_back"}')
    if counted != len(DEGRADED):
        raise RuntimeError(f"serve's /metrics counts {counted:g} rollbacks, expected {len(DEGRADED)}")
    for name in DEGRADED:
        image = cluster.image(namespace, name)
        metadata = cluster.apps.read_namespaced_deployment(name, namespace).metadata
        annotations = (metadata.annotations if metadata is not None else None) or {}
        if image != "rollcheck-demo:v1" or ROLLED_BACK_FROM not in annotations:
            raise RuntimeError(f"{name} runs {image} and carries no {ROLLED_BACK_FROM} after its rollback")
    return tuple(float(rolled_back[target]) for target in expected)


def _metric(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
