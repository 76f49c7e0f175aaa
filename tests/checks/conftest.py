"""Fixtures for running the built-in checks as a team would: their directory as a suite, the plugin on."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from collections.abc import Iterator

import pytest
from check_runs import CHECKS_DIR
from check_runs import ChecksRun
from check_runs import start_demo


@pytest.fixture
def run_checks(pytester: pytest.Pytester) -> Callable[..., ChecksRun]:
    """Run the checks directory in a subprocess as a team's run would: with an ini of its own (the repository's
    switches rollcheck off) and the plugin loaded from its `pytest11` entry point."""
    ini = pytester.makeini("[pytest]\n")

    def run(*args: str, timeout: float = 240) -> ChecksRun:
        result = pytester.runpytest_subprocess(
            "-c",
            str(ini),
            "--rootdir",
            str(pytester.path),
            "-rs",
            *args,
            str(CHECKS_DIR),
            timeout=timeout,
        )
        report_file = pytester.path / "rollcheck-report" / "report.json"
        assert report_file.exists(), f"no report.json; output:\n{result.stdout.str()}\n{result.stderr.str()}"
        return ChecksRun(result, json.loads(report_file.read_text()))

    return run


@pytest.fixture
def demo_service() -> Iterator[Callable[..., str]]:
    """Start real demo services with DEMO_* knobs (`demo_service(DEMO_HEALTH_FAIL="1")`); returns base URLs."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(**knobs: str) -> str:
        process, url = start_demo(**knobs)
        processes.append(process)
        return url

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)
