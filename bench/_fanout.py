"""A release that spans 100 workloads: one health check per workload, by `rollcheck run` against bare pytest running
the same checks with httpx, and by `rollcheck run` with pytest-xdist (-n 4) against the same run serially."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from _cluster import VENV_BIN
from _cluster import Cluster
from _cluster import Timed
from _cluster import clean_env
from _cluster import run_measured
from _cluster import wait_until
from _runs import suite_dir
from _stats import Row
from _stats import Series
from _stats import ratio_row

from localenv_support import free_port

WORKLOADS = 100
#: What one API answer of every workload costs, so a check takes what a real one over the network would and
#: running them side by side has something to gain.
API_LATENCY_MS = 50
#: Every pod is a process of the node agent's; starting a hundred on two shared cores takes a while.
START_TIMEOUT = 240
WORKERS = 4
#: Each round runs three suites of 100 checks; more rounds than this would take the group past three minutes.
MAX_ROUNDS = 3


def fan_out(cluster: Cluster, repeats: int, workdir: Path) -> list[Row]:
    with cluster.namespace("bench-fanout") as namespace:
        workloads = _deploy(cluster, namespace)
        listing = workdir / "fanout-workloads.json"
        listing.write_text(json.dumps(workloads))
        folder = suite_dir(workdir, "fanout", "test_fanout_rollcheck.py", "test_fanout_bare.py")
        env = clean_env(BENCH_FANOUT_WORKLOADS=str(listing))
        rollcheck = [
            str(VENV_BIN / "rollcheck"),
            "run",
            "--no-builtin-checks",
            f"--report-dir={workdir / 'fanout-report'}",
            "test_fanout_rollcheck.py",
        ]
        bare = [str(VENV_BIN / "pytest"), "-q", "-p", "no:rollcheck", "test_fanout_bare.py"]
        # One check each, untimed: compiles the bytecode every timed run then finds cached.
        for warm_up in ([*rollcheck, "--", "-k", "fan-000"], [*bare, "-k", "fan-000"]):
            _passing(warm_up, folder, env)()
        ours, theirs, xdist = _rounds(
            min(repeats, MAX_ROUNDS),
            _passing(rollcheck, folder, env),
            _passing(bare, folder, env),
            _passing([*rollcheck, "--", "-n", str(WORKERS)], folder, env),
        )
    name = f"{WORKLOADS} workloads, one check each"
    return [
        ratio_row(
            f"fan-out: {name}, wall time",
            Series(tuple(timed.seconds * 1000 for timed in ours)),
            "bare pytest + httpx, same checks",
            Series(tuple(timed.seconds * 1000 for timed in theirs)),
            at_most=1.2,
        ),
        ratio_row(
            f"fan-out: {name}, peak RSS",
            Series(tuple(timed.peak_rss_mb for timed in ours), "MB"),
            "bare pytest + httpx, same checks",
            Series(tuple(timed.peak_rss_mb for timed in theirs), "MB"),
            at_most=1.5,
        ),
        ratio_row(
            f"fan-out: {name}, -- -n {WORKERS} (pytest-xdist)",
            Series(tuple(timed.seconds * 1000 for timed in xdist)),
            "the same rollcheck run, serial",
            Series(tuple(timed.seconds * 1000 for timed in ours)),
            at_most=0.6,
        ),
    ]


def _deploy(cluster: Cluster, namespace: str) -> list[dict[str, str]]:
    """WORKLOADS one-replica demo Deployments, each exposed on its own loopback port and spared the load
    generator (the checks are the only traffic); their names and URLs once every one answers."""
    ports: set[int] = set()
    while len(ports) < WORKLOADS:
        ports.add(free_port())
    workloads = [{"name": f"fan-{number:03d}", "url": f"http://127.0.0.1:{port}"} for number, port in enumerate(ports)]
    started = time.monotonic()
    for workload, port in zip(workloads, ports, strict=True):
        cluster.deploy(
            namespace,
            workload["name"],
            "v1",
            port=port,
            env={"DEMO_LATENCY_MS": str(API_LATENCY_MS)},
            annotations={"localenv.rollcheck.dev/load-rate": "0"},
        )
    for workload in workloads:
        wait_until(
            functools.partial(cluster.rolled_out, namespace, workload["name"]),
            what=f"{workload['name']} rolled out",
            timeout=max(1.0, START_TIMEOUT - (time.monotonic() - started)),
        )
    for workload in workloads:  # Ready is not yet exposed: the node agent opens the port on its next round
        wait_until(functools.partial(_answers, workload["url"]), what=f"{workload['url']}/health", timeout=30)
    return workloads


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).is_success
    except httpx.HTTPError:
        return False


def _passing(command: list[str], folder: Path, env: dict[str, str]) -> Callable[[], Timed]:
    def run() -> Timed:
        timed = run_measured(command, cwd=folder, env=env, measurements=folder / "measured")
        if timed.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited {timed.returncode}:\n{timed.output[-3000:]}")
        return timed

    return run


def _rounds(
    repeats: int, serial: Callable[[], Timed], bare: Callable[[], Timed], parallel: Callable[[], Timed]
) -> tuple[list[Timed], list[Timed], list[Timed]]:
    """Each run `repeats` times, the order rotated each round so that none always goes first: the machine is
    shared, and its noise should fall on all three alike. No untimed round: the probes that waited for the
    workloads warmed them, and a round costs about a minute."""
    runs = [serial, bare, parallel]
    timed: list[list[Timed]] = [[], [], []]
    for round_number in range(repeats):
        for offset in range(len(runs)):
            which = (round_number + offset) % len(runs)
            timed[which].append(runs[which]())
    return timed[0], timed[1], timed[2]
