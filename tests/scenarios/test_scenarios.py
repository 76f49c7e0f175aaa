"""The scenario corpus on the local environment: good releases under noise must not be rolled back, bad ones must.

`make scenarios` runs this file and prints one table row per scenario (see conftest.py).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from scenario_corpus import DELAYED_FAULT_LATENCY_MS
from scenario_corpus import MAX_DELAYED_DETECT_S
from scenario_corpus import NOISE_AT_S
from scenario_corpus import Play
from scenario_corpus import Spec
from scenario_corpus import fault_start
from scenario_corpus import judge
from scenario_corpus import play
from scenario_faults import delayed_fault_start
from scenario_faults import restart_prometheus
from scenario_faults import targets_dropped
from scenario_faults import wait_until

from localenv_support import REPO_ROOT
from localenv_support import LocalEnv
from localenv_support import Releases

REPORTS_DIR = REPO_ROOT / "build" / "scenarios" / "reports"
"""Each scenario's report.json, kept for reading the rounds after the run."""
GAP_S = 5.0
PROMETHEUS_DOWN_S = 5.0


def scrape_gap(current: Play) -> None:
    assert current.rolled_out_at is not None
    wait_until(current.rolled_out_at + NOISE_AT_S)
    with targets_dropped(current.localenv, current.namespace, current.name):
        current.noise_started = time.time()
        time.sleep(GAP_S)


def prometheus_restart(current: Play) -> None:
    assert current.rolled_out_at is not None
    wait_until(current.rolled_out_at + NOISE_AT_S)
    current.noise_started = time.time()
    restart_prometheus(down_for=PROMETHEUS_DOWN_S)


EDGE_ERRORS = {"DEMO_ERROR_RATE": "0.05"}
SPECS = (
    Spec(
        name="edge-5xx",
        good=True,
        what="5% of API requests answer 500, against a limit of 10% of all requests",
        env=EDGE_ERRORS,
        verdict="passed",
        rollback=False,
    ),
    Spec(
        name="scrape-gap",
        good=True,
        what=f"Prometheus stops scraping the release's pods for {GAP_S:g}s mid-watch",
        verdict="passed",
        rollback=False,
        noise=scrape_gap,
    ),
    Spec(
        name="prometheus-restart",
        good=True,
        what=f"Prometheus is down {PROMETHEUS_DOWN_S:g}s mid-watch, then restarts with its data",
        verdict="passed",
        rollback=False,
        noise=prometheus_restart,
        alone=True,
    ),
    Spec(
        name="low-traffic",
        good=True,
        what="0.5 requests/s with the edge error rate: too little evidence to judge",
        env=EDGE_ERRORS,
        load_rate=0.5,
        verdict="inconclusive",
        rollback=False,
    ),
    Spec(
        name="errors-2x",
        good=False,
        what="22% of API requests answer 500: about 2x the limit over all requests",
        env={"DEMO_ERROR_RATE": "0.22"},
        verdict="failed",
        rollback=True,
    ),
    Spec(
        name="errors-5x",
        good=False,
        what="55% of API requests answer 500: about 5x the limit over all requests",
        env={"DEMO_ERROR_RATE": "0.55"},
        verdict="failed",
        rollback=True,
    ),
    Spec(
        name="p99-plus-30pct",
        good=False,
        what="API latency 208 ms instead of 160 ms (+30%)",
        env={"DEMO_LATENCY_MS": "208"},
        verdict="failed",
        rollback=True,
    ),
    Spec(
        name="p99-3x",
        good=False,
        what="API latency 480 ms instead of 160 ms (3x)",
        env={"DEMO_LATENCY_MS": "480"},
        verdict="failed",
        rollback=True,
    ),
    Spec(
        name="health-flapping",
        good=False,
        what="/health answers 503 for 15 s in every 30 s, on every pod at once",
        env={"DEMO_HEALTH_FLAP_S": "15"},
        verdict="failed",
        rollback=True,
    ),
    Spec(
        name="crash-loop",
        good=False,
        what="every new pod exits 1 at start",
        env={"DEMO_CRASH": "1"},
        verdict="failed",
        rollback=True,
    ),
    *(
        Spec(
            name=name,
            good=False,
            what=f"healthy (no added latency) for {delay} s after start, then API latency "
            f"{DELAYED_FAULT_LATENCY_MS} ms and 55% 500s",
            env={
                "DEMO_FAULT_AFTER_S": str(delay),
                "DEMO_LATENCY_MS": str(DELAYED_FAULT_LATENCY_MS),
                "DEMO_ERROR_RATE": "0.55",
            },
            verdict="failed",
            rollback=True,
            delayed=True,
            max_detect_s=MAX_DELAYED_DETECT_S,
        )
        # The rounds fall at about fixed times after the rollout, so the delay sets where between two rounds the
        # fault begins; two delays test two such points (how long the rollout takes moves them by seconds).
        for name, delay in (("delayed-degradation", 30), ("delayed-degradation-34s", 34))
    ),
)


@pytest.mark.parametrize("spec", [pytest.param(spec, id=spec.name) for spec in SPECS])
def test_scenario(
    spec: Spec, releases: Releases, localenv: LocalEnv, tmp_path: Path, scenario_rows: list[dict[str, object]]
) -> None:
    current, run = play(spec, releases, localenv, tmp_path)
    started = delayed_fault_start(localenv, current.namespace, spec.name) if spec.delayed else None
    row, problems = judge(current, run, fault_start(current, started))
    scenario_rows.append(row)
    REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copy(run.report_dir / "report.json", REPORTS_DIR / f"{spec.name}.json")
    output = run.stdout[-3000:] + run.stderr[-3000:]
    assert not problems, "; ".join(problems) + "\n" + json.dumps(row, indent=1) + "\n" + output
