"""One pod's demo process, as the node agent runs it: real subprocesses, real signals, no cluster."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from component_helpers import pid_alive
from component_helpers import python_env

from localenv_support import eventually
from rollcheck_localenv.kube_objects import DemoContainer
from rollcheck_localenv.kube_objects import ObjectKey
from rollcheck_localenv.pod_process import STOP_GRACE_S
from rollcheck_localenv.pod_process import DemoProcess


@pytest.fixture
def processes() -> Iterator[list[DemoProcess]]:
    """DemoProcesses created by a test; all stopped afterwards."""
    created: list[DemoProcess] = []
    yield created
    for process in created:
        process.stop()


def demo_process(
    created: list[DemoProcess], tmp_path: Path, *, ready: bool = False, threshold: int = 3, **env: str
) -> DemoProcess:
    container = DemoContainer(name="app", image="rollcheck-demo:v3", tag="v3", env=env, failure_threshold=threshold)
    process = DemoProcess(
        ObjectKey("prod", "shop-abc"), container, log_path=tmp_path / "pods" / "prod_shop-abc.log", ready=ready
    )
    created.append(process)
    return process


def supervise_until(process: DemoProcess, condition: Callable[[DemoProcess], bool], what: str) -> None:
    """Drive the process the way the agent loop does until `condition` holds."""

    def step() -> bool:
        process.supervise()
        process.probe()
        return condition(process)

    eventually(step, timeout=20, what=what, interval=0.1)


def test_started_process_becomes_ready_and_serves_its_tag(processes: list[DemoProcess], tmp_path: Path) -> None:
    process = demo_process(processes, tmp_path)

    process.start()
    supervise_until(process, lambda p: p.ready, "the process to be ready")

    assert httpx.get(f"http://127.0.0.1:{process.port}/version", timeout=5).json() == {"version": "v3"}
    state, last_state = process.container_state()
    assert "running" in state
    assert last_state == {}
    assert "version v3 serving" in process.log_path.read_text()


def test_crashing_process_restarts_with_growing_back_off(processes: list[DemoProcess], tmp_path: Path) -> None:
    process = demo_process(processes, tmp_path, DEMO_CRASH="1")

    process.start()
    supervise_until(process, lambda p: p.restart_count >= 1 and not p.running, "a first crash")
    first_back_off = process.container_state()
    supervise_until(process, lambda p: p.restart_count >= 2 and not p.running, "a second crash")
    second_back_off = process.container_state()

    for state, last_state in (first_back_off, second_back_off):
        assert state["waiting"]["reason"] == "CrashLoopBackOff"
        assert last_state["terminated"]["exitCode"] == 1
        assert last_state["terminated"]["reason"] == "Error"
    assert "back-off 1s" in first_back_off[0]["waiting"]["message"]
    assert "back-off 2s" in second_back_off[0]["waiting"]["message"]
    assert not process.ready


def test_readiness_is_lost_after_the_failure_threshold(processes: list[DemoProcess], tmp_path: Path) -> None:
    # Adopted as Ready (as after an agent restart), but the new process's /health fails.
    process = demo_process(processes, tmp_path, ready=True, threshold=2, DEMO_HEALTH_FAIL="1")
    process.start()
    eventually(lambda: process.port and _answers(process.port), timeout=20, what="the process to answer")

    process.probe()
    assert process.ready  # one failure is below the threshold
    process.probe()
    assert not process.ready


def _answers(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/version", timeout=1)
    except httpx.TransportError:
        return False
    return True


def test_stop_terminates_the_process(processes: list[DemoProcess], tmp_path: Path) -> None:
    process = demo_process(processes, tmp_path)
    process.start()
    pid = process.pid
    assert pid is not None

    process.stop()

    assert not pid_alive(pid)
    assert process.pid is None


def test_stop_kills_a_process_that_ignores_sigterm(processes: list[DemoProcess], tmp_path: Path) -> None:
    process = demo_process(processes, tmp_path)
    process.start()
    # Serving means its SIGTERM handler is installed (before that, SIGTERM would kill it even while stopped).
    supervise_until(process, lambda p: p.ready, "the process to be ready")
    pid = process.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # a stopped process cannot run its SIGTERM handler; only SIGKILL ends it

    started = time.monotonic()
    process.stop()

    assert time.monotonic() - started >= STOP_GRACE_S
    assert not pid_alive(pid)


PARENT_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from rollcheck_localenv.kube_objects import DemoContainer, ObjectKey
    from rollcheck_localenv.pod_process import DemoProcess

    container = DemoContainer(name="app", image="rollcheck-demo:v1", tag="v1")
    process = DemoProcess(ObjectKey("prod", "orphan"), container, log_path=Path(sys.argv[1]))
    process.start()
    print(process.pid, flush=True)
    time.sleep(120)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_process_dies_when_its_parent_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT_SCRIPT, str(tmp_path / "orphan.log")],
        env=python_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert pid_alive(child)

        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)

        eventually(lambda: not pid_alive(child), timeout=10, what=f"orphaned demo process {child} to die")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()
