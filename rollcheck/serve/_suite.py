"""Running a check suite against one workload as `rollcheck run --no-rollback`, in a child process.

A child process, not pytest in-process: pytest keeps global state (imported check modules, plugins, the
working directory's configuration) that must not leak from one alert's suite into the next one, and a hung
check must be stoppable without taking the receiver down.
"""

from __future__ import annotations

import enum
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .._exitcodes import ExitCode
from ..settings import Settings
from ..target import TargetRef
from ._config import TOKEN_ENV_VAR

__all__ = ["SuiteOutcome", "SuiteResult", "run_suite"]


class SuiteOutcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"
    """It could not measure, timed out, or could not run at all: no verdict about the release."""


_OUTCOMES = {int(ExitCode.PASSED): SuiteOutcome.PASSED, int(ExitCode.FAILED): SuiteOutcome.FAILED}


@dataclass(frozen=True, kw_only=True)
class SuiteResult:
    """What one suite run said about the workload."""

    outcome: SuiteOutcome
    """Passed, failed, or no verdict."""
    exit_code: int | None
    """The child's exit status; None when it was stopped at the time limit."""
    reason: str
    """The suite's own one-sentence reason (from its report.json), or why there is none."""
    report_dir: Path
    """Where its report.json, junit.xml and HTML went."""


def run_suite(
    suite: Path, target: TargetRef, namespace: str, settings: Settings, *, report_dir: Path, timeout: float
) -> SuiteResult:
    """`rollcheck run --no-rollback -t TARGET -n NAMESPACE SUITE`, bounded by `timeout` seconds.

    It runs in the suite's directory, so the suite's own rollcheck.toml and pytest configuration apply; every
    path handed to it is therefore absolute."""
    suite = suite.resolve()
    command = [
        sys.executable,
        "-m",
        "rollcheck",
        "run",
        "--no-rollback",
        # The suite only informs serve's decision; serve's own event is what people are told about.
        "--notify-on=never",
        f"--target={target}",
        f"--namespace={namespace}",
        f"--report-dir={report_dir.resolve()}",
        *([f"--kubeconfig={settings.kubeconfig.resolve()}"] if settings.kubeconfig else []),
        *([f"--context={settings.context}"] if settings.context else []),
        str(suite),
    ]
    try:
        finished = subprocess.run(
            command,
            cwd=suite if suite.is_dir() else suite.parent,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_child_environment(os.environ),
            check=False,
        )
    except subprocess.TimeoutExpired:
        reason = f"the suite {suite} did not finish within {timeout:g}s"
        return SuiteResult(outcome=SuiteOutcome.INCONCLUSIVE, exit_code=None, reason=reason, report_dir=report_dir)
    except OSError as error:
        reason = f"the suite {suite} could not be started: {error.strerror}"
        return SuiteResult(outcome=SuiteOutcome.INCONCLUSIVE, exit_code=None, reason=reason, report_dir=report_dir)
    code = finished.returncode
    # Anything but 0 and 1 (inconclusive, interrupted, a usage error, no checks) is no verdict.
    outcome = _OUTCOMES.get(code, SuiteOutcome.INCONCLUSIVE)
    return SuiteResult(outcome=outcome, exit_code=code, reason=_reason(report_dir, finished), report_dir=report_dir)


def _reason(report_dir: Path, finished: subprocess.CompletedProcess[str]) -> str:
    try:
        reason = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))["reason"]
    except (OSError, ValueError, KeyError, TypeError):
        # No report: the run stopped before it had one (a usage error); its last line says why.
        lines = [line for line in finished.stderr.splitlines() if line.strip()]
        return f"exit {finished.returncode}: {lines[-1][:300] if lines else 'no output'}"
    return str(reason)


def _child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The receiver's environment without its own token: the suite has no business with it."""
    return {name: value for name, value in environ.items() if name != TOKEN_ENV_VAR}
