"""Helpers for testing the local environment's own processes: real subprocesses on free loopback ports."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from localenv_support import eventually
from localenv_support import free_port

SCRIPTS_DIR = Path(__file__).resolve().parents[2] / "scripts"


def python_env(**extra: str) -> dict[str, str]:
    """The test's environment without any DEMO_* knob it may carry, plus `extra`, with scripts importable."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("DEMO_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SCRIPTS_DIR), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def run_module(module: str, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start `python -m module args` with its output captured."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop_process(process: subprocess.Popen[str]) -> None:
    """Terminate `process` if it still runs and reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def port_in_test_range() -> int:
    """A free loopback port in 20000-29999, the range the workload-exposure tests use."""
    for _ in range(200):
        port = random.randint(20000, 29999)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000-29999")


def pid_alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie awaiting its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass
class RunningDemo:
    """A demo service subprocess started by a test."""

    process: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_answering(self, timeout: float = 20.0) -> None:
        """Poll until the service answers HTTP at all (healthy or not); fail early if it exited."""

        def answers() -> bool:
            if self.process.poll() is not None:
                output = self.process.stderr.read() if self.process.stderr else ""
                raise AssertionError(f"demo service exited with {self.process.returncode}:\n{output}")
            try:
                httpx.get(f"{self.url}/version", timeout=1.0)
            except httpx.TransportError:
                return False
            return True

        eventually(answers, timeout=timeout, what=f"demo service on port {self.port} to answer", interval=0.05)


def start_demo(version: str = "v1", **knobs: str) -> RunningDemo:
    """Start a demo service subprocess on a free port; the caller stops it."""
    port = free_port()
    process = run_module(
        "rollcheck_localenv.demo_service", "--port", str(port), "--version", version, env=python_env(**knobs)
    )
    return RunningDemo(process, port)
