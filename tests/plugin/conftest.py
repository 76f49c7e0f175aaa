"""A pytester runner with rollcheck switched on, and helpers to read the report it wrote."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class Run:
    result: pytest.RunResult
    report_dir: Path

    @property
    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.report_dir / "report.json").read_text())
        return data

    def check(self, name: str) -> dict[str, Any]:
        [found] = [c for c in self.report["checks"] if c["id"].endswith(f"::{name}")]
        return found


class RollcheckTester:
    """Runs pytest in a subprocess (signals and exit statuses are real) with the plugin enabled."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.report_dir = pytester.path / "rollcheck-report"

    def run(self, *args: str) -> Run:
        # The outer session disables rollcheck with -p no:rollcheck; the inner run loads it explicitly.
        result = self.pytester.runpytest_subprocess(
            "-p", "rollcheck", "-p", "no:cacheprovider", f"--rollcheck-report-dir={self.report_dir}", *args
        )
        return Run(result, self.report_dir)


@pytest.fixture
def rollcheck_tester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> RollcheckTester:
    for name in ("ROLLCHECK_TARGET", "KUBECONFIG", "CI", "GITHUB_ACTIONS", "GITLAB_CI"):
        monkeypatch.delenv(name, raising=False)
    # pytester's inner runs would otherwise inherit the outer addopts and filterwarnings from this repo.
    pytester.makeini("[pytest]\n")
    return RollcheckTester(pytester)
