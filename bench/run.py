"""`make bench`: rollcheck against the peers a team would otherwise use, on the local environment, as one table.

Every row is a median over repeated runs with its min and max; every comparison is a ratio of medians measured
in the same run, interleaved, so the shared machine's noise falls on both sides. Run from the repository:

    PYTHONPATH=scripts:tests:bench .venv/bin/python bench/run.py [--repeat N] [--only NAME ...] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import _fanout
import _rollback
import _runs
import _serve_load
from _cluster import Cluster
from _cluster import wait_until
from _stats import Row
from _stats import render

from localenv_support import free_port


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed repetitions per row (default 7)")
    parser.add_argument("--only", action="append", default=[], help="run only these groups (repeatable)")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    options = parser.parse_args()
    cluster = Cluster()
    workdir = Path(tempfile.mkdtemp(prefix="rollcheck-bench-"))
    repeats = options.repeat

    def passing_release(body: Callable[[str, str], list[Row]]) -> Callable[[], list[Row]]:
        def run() -> list[Row]:
            port = free_port()
            with cluster.namespace("bench-run") as namespace:
                cluster.deploy(namespace, "shop", "v1", replicas=2, port=port)
                wait_until(lambda: cluster.rolled_out(namespace, "shop"), what="shop rolled out")
                time.sleep(12)  # the 10 s metric window must hold traffic to the new pods
                return body(namespace, f"http://127.0.0.1:{port}")

        return run

    groups: dict[str, Callable[[], list[Row]]] = {
        "rollback": lambda: _rollback.in_session_rollback(cluster, repeats),
        "process": lambda: _rollback.whole_process_rollback(cluster, repeats, workdir),
        "run": passing_release(lambda ns, url: _runs.whole_run(cluster, repeats, workdir, ns, url)),
        "overhead": lambda: _runs.plugin_overhead(repeats, workdir),
        "startup": passing_release(lambda ns, url: _runs.startup(repeats, workdir, url)),
        "history": lambda: _rollback.long_history_rollback(cluster, repeats),
        "fanout": lambda: _fanout.fan_out(cluster, repeats, workdir),
        "serve": lambda: _serve_load.serve_under_load(cluster, workdir),
    }
    unknown = set(options.only) - set(groups)
    if unknown:
        parser.error(f"unknown group(s) {', '.join(sorted(unknown))}; choose from {', '.join(groups)}")
    rows: list[Row] = []
    for name, group in groups.items():
        if options.only and name not in options.only:
            continue
        started = time.monotonic()
        print(f"bench: {name} …", file=sys.stderr, flush=True)
        rows.extend(group())
        print(f"bench: {name} done in {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)
    header = (
        f"rollcheck bench, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, {repeats} timed repetitions per row (median [min-max])"
    )
    table = f"{header}\n\n{render(rows)}\n"
    print(table)
    if options.markdown:
        options.markdown.write_text(table)
    missed = [row.name for row in rows if row.met is False]
    if missed:
        print(f"goals missed: {', '.join(missed)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
