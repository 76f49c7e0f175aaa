"""The scenario corpus: releases with known noise or known faults, each judged by `rollcheck run --watch` as CI
would run it, with one set of thresholds for all of them.

The thresholds are chosen against the demo service's numbers:
- every release answers its API in BASE_LATENCY_MS, so its p99 sits just under the 200 ms histogram bucket
  bound; a 30% slower release lands in the next bucket, above MAX_P99_S, while a good one would need about 2%
  of its requests more than 40 ms late (the interpolation in the 200-300 ms bucket) to cross it;
- MAX_ERROR_RATE is 10% of all requests: at LOAD_RATE a 10 s round sees about 400 API requests and 40
  readiness probes. Rounds of a release failing 5% of its API requests (4.5% of all) spread by about 1.5
  points (measured; Poisson alone would give 1.0), so the limit is ~3.5 spreads above that, while 2x and 5x
  releases cross it in every round;
- The failure limit is 1, so a degradation is caught by the first round that sees it; the noise must therefore
  never fail a round, which is what the good releases test.
"""

from __future__ import annotations

import datetime
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from localenv_support import LocalEnv
from localenv_support import Releases
from localenv_support import eventually
from localenv_support import free_port
from rollcheck import ExitCode
from rollcheck_localenv.kube_objects import LOAD_RATE_ANNOTATION
from rollcheck_runs import RollcheckRun
from rollcheck_runs import Scenario

BASE_LATENCY_MS = 160
LOAD_RATE = 40.0
"""Requests a second the load generator sends each scenario's workload (its annotation)."""
MAX_ERROR_RATE = 0.1
MAX_P99_S = 0.25
WINDOW_S = 10
INTERVAL_S = 10
WATCH_S = 50
SCRAPE_INTERVAL_S = 1
NOISE_AT_S = 25
DELAYED_FAULT_LATENCY_MS = 480
# A delayed fault must be caught within interval + 2 scrape intervals, plus the time the fault takes to leave
# evidence and the round to act on it: a slow answer is observed only when it ends (480 ms); p99 moves only once
# about 1% of a round's requests are slow (0.1 s at LOAD_RATE); the rollback is issued after the round's
# checks have run (0.4 s at most in the runs measured). Together about 1 s.
DETECT_ALLOWANCE_S = 1.0
MAX_DELAYED_DETECT_S = INTERVAL_S + 2 * SCRAPE_INTERVAL_S + DETECT_ALLOWANCE_S
"""Noise starts this long after the release's rollout completed: in the middle of the watch."""
# Evidence is user traffic: the readiness probes' /health requests (4 a second) must not count toward
# --min-requests, or no workload would ever look quiet. Errors still count every measured request.
API_REQUESTS_QUERY = 'sum(increase(http_requests_total{{{selector},path=~"/api/.+"}}[{window}]))'
ROLLCHECK_ARGS = (
    f"--window={WINDOW_S}s",
    f"--watch={WATCH_S}s",
    f"--interval={INTERVAL_S}s",
    "--failure-limit=1",
    "--inconclusive-limit=3",
    f"--max-error-rate={MAX_ERROR_RATE}",
    f"--max-p99-latency={MAX_P99_S}s",
    "--min-requests=20",
    f"--requests-query={API_REQUESTS_QUERY}",
    "--expect-image=rollcheck-demo:v2",
)

READINESS_CHECK = Path(__file__).parent / "checks" / "readiness.py"
"""A check of the corpus' own, run beside the built-in ones (see its docstring)."""

EXIT_CODES = {"passed": ExitCode.PASSED, "failed": ExitCode.FAILED, "inconclusive": ExitCode.INCONCLUSIVE}

Noise = Callable[["Play"], None]
"""Runs beside rollcheck once the release rolled out; sets `noise_started`."""


@dataclass(frozen=True, kw_only=True)
class Spec:
    """One scenario: what the release does and what rollcheck must make of it."""

    name: str
    good: bool
    what: str
    env: dict[str, str] = field(default_factory=dict)
    """The new release's DEMO_* knobs, on top of the base latency every release has."""
    verdict: str
    rollback: bool
    load_rate: float = LOAD_RATE
    noise: Noise | None = None
    alone: bool = False
    """Disturbs every workload on the environment (a Prometheus restart): runs with no other scenario."""
    delayed: bool = False
    """The fault starts DEMO_FAULT_AFTER_S after the pods start; timed from the pods' own logs."""
    max_detect_s: float | None = None
    """Fault start to rollback issued must not exceed this."""

    @property
    def expected(self) -> str:
        return f"{'rolled back' if self.rollback else 'not rolled back'}, {self.verdict}"


@dataclass
class Play:
    """One scenario being played: the workload, when things happened, and the noise thread's failure."""

    spec: Spec
    releases: Releases
    localenv: LocalEnv
    scenario: Scenario
    applied_at: float = 0.0
    rolled_out_at: float | None = None
    noise_started: float | None = None
    noise_error: BaseException | None = None

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def namespace(self) -> str:
        return self.releases.namespace


def release_env(knobs: dict[str, str]) -> dict[str, str]:
    return {"DEMO_LATENCY_MS": str(BASE_LATENCY_MS), **knobs}


def _noise_thread(current: Play) -> threading.Thread:
    def run() -> None:
        try:
            # The release's rollout completing is what the windows start from; the noise is timed from it too.
            eventually(lambda: current.releases.rollout_complete(current.name), timeout=60, what="the new release")
            current.rolled_out_at = time.time()
            assert current.spec.noise is not None
            current.spec.noise(current)
        except BaseException as error:  # reported by the test thread, which owns the assertion
            current.noise_error = error

    return threading.Thread(target=run, name=f"noise-{current.name}", daemon=True)


def play(spec: Spec, releases: Releases, localenv: LocalEnv, tmp_path: Path) -> tuple[Play, RollcheckRun]:
    """Deploy a good v1, then the scenario's v2, and run rollcheck on v2; return the play and the run."""
    port = free_port()
    annotations = {LOAD_RATE_ANNOTATION: f"{spec.load_rate:g}"}
    releases.deploy(spec.name, "v1", replicas=2, env=release_env({}), port=port, annotations=annotations)
    releases.wait_rollout(spec.name)
    current = Play(spec, releases, localenv, Scenario(releases, localenv, spec.name, port, tmp_path))
    # CI's `kubectl apply` then `rollcheck run`: rollcheck waits for the rollout itself.
    current.applied_at = time.time()
    releases.set_release(spec.name, "v2", env=release_env(spec.env))
    noise = _noise_thread(current) if spec.noise else None
    if noise:
        noise.start()
    checks = tmp_path / "checks"
    checks.mkdir()
    shutil.copy(READINESS_CHECK, checks / "test_readiness.py")
    run = current.scenario.run(*ROLLCHECK_ARGS, str(checks))
    if noise:
        noise.join(timeout=120)
    return current, run


def unix_time(text: str | None) -> float | None:
    return datetime.datetime.fromisoformat(text).timestamp() if text else None


def fault_start(current: Play, delayed_start: float | None) -> float | None:
    """When the fault (bad release) or the noise (good release) began, as a unix time."""
    if current.spec.delayed:
        return delayed_start
    if current.spec.good:
        return current.noise_started
    # The moment the bad release was put in place: its pods serve traffic from their start on.
    return current.applied_at


def worst_round(report: dict[str, Any], check: str) -> float | None:
    """The highest value a check measured in any round (the first pass included), None if it never judged."""
    values = [
        m["value"]
        for m in (report.get("analysis") or {}).get("measurements", [])
        if m["check"].endswith(f"::{check}") and m["outcome"] in ("passed", "failed") and m["value"] is not None
    ]
    return round(max(values), 4) if values else None


def _unjudged_since(report: dict[str, Any], moment: float) -> int:
    """Measurements from `moment` on that could not judge: the trace noise leaves when it reached rollcheck."""
    return sum(
        1
        for m in (report.get("analysis") or {}).get("measurements", [])
        if m["outcome"] not in ("passed", "failed") and (unix_time(m["at"]) or 0) >= moment
    )


def judge(current: Play, run: RollcheckRun, started: float | None) -> tuple[dict[str, Any], list[str]]:
    """The scenario's table row and what, if anything, was not as expected."""
    spec, report = current.spec, run.report
    rollback = report["rollback"]
    issued = unix_time(report["timings"].get("rollback_issued_at"))
    detect_s = round(issued - started, 1) if issued is not None and started is not None else None
    analysis = report.get("analysis") or {}
    problems = []
    if report["verdict"] != spec.verdict:
        problems.append(f"verdict {report['verdict']}, expected {spec.verdict}: {report['reason']}")
    if (rollback["action"] == "rolled_back") != spec.rollback:
        problems.append(f"rollback {rollback['action']}, expected {'one' if spec.rollback else 'none'}")
    expected_exit = ExitCode.FAILED if spec.rollback else EXIT_CODES[spec.verdict]
    if run.returncode != expected_exit:
        problems.append(f"rollcheck exited {run.returncode}, expected {int(expected_exit)}")
    if spec.rollback and rollback["recovered"] is not True:
        problems.append(f"health did not recover after the rollback: {rollback['error']}")
    if spec.max_detect_s is not None and (detect_s is None or detect_s > spec.max_detect_s):
        problems.append(f"fault start to rollback issued {detect_s}s, expected at most {spec.max_detect_s:g}s")
    if current.noise_error is not None:
        problems.append(f"the noise could not be put in place: {current.noise_error!r}")
    if spec.noise and current.noise_started is None and current.noise_error is None:
        problems.append("the noise never started (the watch ended first?)")
    if current.noise_started is not None and not _unjudged_since(report, current.noise_started):
        problems.append("no round after the noise began failed to judge: the noise never reached rollcheck")
    row = {
        "scenario": spec.name,
        "release": "good" if spec.good else "bad",
        "what": spec.what,
        "expected": spec.expected,
        "verdict": report["verdict"],
        "exit_code": report["exit_code"],
        "rollback": rollback["action"],
        "recovered": rollback["recovered"],
        "fault_to_rollback_s": detect_s,
        "max_fault_to_rollback_s": spec.max_detect_s,
        "worst_error_rate": worst_round(report, "test_error_rate"),
        "worst_p99_s": worst_round(report, "test_p99_latency"),
        "deciding_rule": analysis.get("deciding_rule"),
        "rounds": analysis.get("rounds"),
        "reason": report["reason"],
        "met": not problems,
        "problems": problems,
    }
    return row, problems
