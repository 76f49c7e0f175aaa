"""The node agent as a process, without a cluster: unreachable API server, shutdown, single instance."""

from __future__ import annotations

import fcntl
import json
import signal
import subprocess
import sys
from pathlib import Path

from component_helpers import python_env
from component_helpers import run_module
from component_helpers import stop_process

from localenv_support import eventually
from localenv_support import free_port


def unreachable_kubeconfig(tmp_path: Path) -> Path:
    """A kubeconfig for an API server that is not there (nothing listens on the port)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "gone", "cluster": {"server": f"https://127.0.0.1:{free_port()}"}}],
        "users": [{"name": "nobody", "user": {"token": "not-a-secret"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "nobody"}}],
        "current-context": "gone",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(config))
    return path


def test_agent_survives_an_unreachable_api_server_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    state_dir, log = tmp_path / "agent", tmp_path / "agent.log"
    args = ["--kubeconfig", str(unreachable_kubeconfig(tmp_path)), "--state-dir", str(state_dir)]
    with log.open("w") as stderr:
        agent = subprocess.Popen(
            [sys.executable, "-m", "rollcheck_localenv.node_agent", *args], env=python_env(), stderr=stderr
        )
    try:
        # Every watch and the node registration fail, back off, and fail again; the agent carries on.
        eventually(lambda: log.read_text().count("retrying") >= 10, timeout=30, what="repeated retries")
        assert agent.poll() is None

        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=20) == 0
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()

    assert "shutting down" in log.read_text()
    assert not (state_dir / "workloads.json").exists()  # never in sync, so never claimed to be ready


def test_second_agent_on_the_same_state_dir_refuses_to_start(tmp_path: Path) -> None:
    state_dir = tmp_path / "agent"
    state_dir.mkdir()
    with (state_dir / "agent.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        args = ("--kubeconfig", str(unreachable_kubeconfig(tmp_path)), "--state-dir", str(state_dir))
        agent = run_module("rollcheck_localenv.node_agent", *args, env=python_env())
        try:
            _, stderr = agent.communicate(timeout=30)
        finally:
            stop_process(agent)

    assert agent.returncode == 1
    assert "another node agent" in stderr


def test_missing_kubeconfig_is_reported(tmp_path: Path) -> None:
    args = ("--kubeconfig", str(tmp_path / "nope"), "--state-dir", str(tmp_path / "agent"))
    agent = run_module("rollcheck_localenv.node_agent", *args, env=python_env())
    try:
        _, stderr = agent.communicate(timeout=30)
    finally:
        stop_process(agent)

    assert agent.returncode == 1
    assert "cannot load kubeconfig" in stderr
