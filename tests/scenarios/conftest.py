"""The scenario corpus' plugin: each scenario's table row, the table at the end, and scenarios that run alone.

Rows travel on the test reports (`user_properties`), so the table is complete under pytest-xdist too. It is
printed in the terminal summary and written to build/scenarios/results.json and results.md.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from localenv_support import REPO_ROOT
from localenv_support import LocalEnv
from localenv_support import Releases

RESULTS_DIR = REPO_ROOT / "build" / "scenarios"
_ROW = "scenario_row"
_rows: dict[str, dict[str, Any]] = {}
_missing: dict[str, str] = {}


def _spec(item: pytest.Item) -> Any:
    """The scenario an item plays; None for every item outside the corpus."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or item.path.parent != Path(__file__).parent:
        return None
    return callspec.params.get("spec")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A scenario that must run alone goes first: the others then wait for it once, at the start, instead of
    # it waiting for every other scenario to end. Only the corpus' own items move, among their own places.
    places = [index for index, item in enumerate(items) if _spec(item) is not None]
    ordered = sorted((items[index] for index in places), key=lambda item: not _spec(item).alone)
    for index, item in zip(places, ordered, strict=True):
        items[index] = item


@pytest.fixture(autouse=True)
def _environment_share(request: pytest.FixtureRequest) -> Iterator[None]:
    """A scenario that disturbs the whole environment holds it exclusively; the others share it."""
    spec = _spec(request.node)
    if spec is None:
        yield
        return
    localenv: LocalEnv = request.getfixturevalue("localenv")
    with (localenv.state_dir / "scenarios.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if spec.alone else fcntl.LOCK_SH)
        yield


@pytest.fixture
def scenario_rows(request: pytest.FixtureRequest, releases: Releases) -> Iterator[list[dict[str, Any]]]:
    """Where the test puts its row; the workload is deleted afterwards, so its load stops with the scenario."""
    rows: list[dict[str, Any]] = []
    yield rows
    for row in rows:
        request.node.user_properties.append((_ROW, json.dumps(row)))
    name = _spec(request.node).name
    with contextlib.suppress(ApiException):
        releases.apps.delete_namespaced_deployment(name, releases.namespace, propagation_policy="Background")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for key, value in report.user_properties:
        if key == _ROW:
            _rows[report.nodeid] = json.loads(value)
    if report.failed and report.nodeid not in _rows and "test_scenarios.py::" in report.nodeid:
        _missing[report.nodeid] = report.when


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "met" if value else "NOT MET"
    return str(value)


def _table(rows: list[dict[str, Any]], *, what: bool = False) -> list[str]:
    head = ["scenario", "release", *(["what the release does"] if what else []), "expected", "verdict", "rollback"]
    head += ["fault → rollback issued (s)", "worst round: error rate / p99 (s)", "result"]
    keys = ["scenario", "release", *(["what"] if what else []), "expected", "verdict", "rollback"]
    keys += ["fault_to_rollback_s", "worst", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        row["worst"] = f"{_cell(row.get('worst_error_rate'))} / {_cell(row.get('worst_p99_s'))}"
    lines += ["| " + " | ".join(_cell(row[key]) for key in keys) + " |" for row in rows]
    return lines


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not (_rows or _missing):
        return
    rows = sorted(_rows.values(), key=lambda row: (row["release"] != "good", row["scenario"]))
    rows += [
        {"scenario": nodeid.split("[")[-1].rstrip("]"), "release": "?", "what": "?", "expected": "?"}
        | {"verdict": f"error in {when}"}
        | {"rollback": None, "fault_to_rollback_s": None, "met": False}
        for nodeid, when in sorted(_missing.items())
        if nodeid not in _rows
    ]
    lines = _table(rows)
    terminalreporter.section("scenario corpus")
    for line in lines:
        terminalreporter.write_line(line)
    met = sum(1 for row in rows if row["met"])
    terminalreporter.write_line(f"{met} of {len(rows)} scenarios met their expectation")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    (RESULTS_DIR / "results.md").write_text("\n".join(_table(rows, what=True)) + "\n")
    terminalreporter.write_line(f"written to {Path(RESULTS_DIR).relative_to(REPO_ROOT)}/results.json and results.md")
