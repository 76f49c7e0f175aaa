"""Pytester runs with rollcheck on, for the confirmation tests: each check writes down when it ran."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Imported by the checks written in these tests: each run appends its name and time to runs.log.
RUN_LOG = """
import time
from pathlib import Path

def note(name):
    with Path(__file__).with_name("runs.log").open("a") as log:
        log.write(f"{name} {time.monotonic()}\\n")
    return sum(1 for line in Path(__file__).with_name("runs.log").read_text().splitlines() if line.split()[0] == name)
"""


@dataclass
class ConfirmRun:
    result: pytest.RunResult
    path: Path

    @property
    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.path / "rollcheck-report" / "report.json").read_text())
        return data

    def check(self, name: str) -> dict[str, Any]:
        [found] = [c for c in self.report["checks"] if c["id"].endswith(f"::{name}")]
        return found

    def runs(self, name: str) -> list[float]:
        """When check `name` ran (its body started), in order."""
        lines = (self.path / "runs.log").read_text().splitlines()
        return [float(line.split()[1]) for line in lines if line.split()[0] == name]


@pytest.fixture
def run_checks(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("ROLLCHECK_TARGET", "KUBECONFIG", "CI", "GITHUB_ACTIONS", "GITLAB_CI"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeini("[pytest]\n")  # not the repository's addopts, which switch rollcheck off
    pytester.makepyfile(runlog=RUN_LOG)

    def run(source: str, *args: str) -> ConfirmRun:
        pytester.makepyfile(test_checks=source)
        result = pytester.runpytest_subprocess("-p", "rollcheck", "-p", "no:cacheprovider", "--rollcheck", *args)
        return ConfirmRun(result, pytester.path)

    return run
