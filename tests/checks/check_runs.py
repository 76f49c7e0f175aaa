"""Helpers for running the built-in checks in tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import rollcheck.checks
from localenv_support import free_port
from localenv_support import wait_for_port

CHECKS_DIR = Path(rollcheck.checks.__file__).parent
SCRIPTS_DIR = Path(__file__).resolve().parents[2] / "scripts"


@dataclass
class ChecksRun:
    """One pytest run of the built-in checks: pytest's result and rollcheck's report.json."""

    result: pytest.RunResult
    report: dict[str, Any]

    def check(self, name: str) -> dict[str, Any]:
        """The report entry of the check whose node id contains `name`."""
        found = [c for c in self.report["checks"] if name in c["id"]]
        assert len(found) == 1, f"{name!r} matches {[c['id'] for c in self.report['checks']]}"
        return found[0]


def start_demo(**knobs: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start the real demo service on loopback with DEMO_* knobs; returns the process and its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEMO_")}
    env.update(PYTHONPATH=str(SCRIPTS_DIR), **knobs)
    argv = [sys.executable, "-m", "rollcheck_localenv.demo_service", "--port", str(port), "--version", "v1"]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    return process, f"http://127.0.0.1:{port}"
