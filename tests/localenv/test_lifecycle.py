"""A second, independent environment (its own state directory and ports): `up` from nothing, everything on
loopback only, and `down` leaves no process behind."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes import config as kube_config

from localenv_support import REPO_ROOT
from localenv_support import demo_deployment
from localenv_support import eventually
from rollcheck_localenv.layout import Layout
from rollcheck_localenv.processes import marked_processes

PORT_OFFSET = 300


def _listening_addresses(pids: list[int]) -> dict[str, int]:
    """address:port of every TCP listener owned by `pids`, from /proc (no ss or psutil needed)."""
    inodes: set[str] = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    listening: dict[str, int] = {}
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A = LISTEN
                address, port = local.split(":")
                listening[address[:width]] = int(port, 16)
    return listening


LOOPBACK = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1 and ::1 as /proc writes them


@pytest.fixture
def second_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {
        **os.environ,
        "ROLLCHECK_LOCALENV_DIR": str(tmp_path / "env"),
        "ROLLCHECK_LOCALENV_PORT_OFFSET": str(PORT_OFFSET),
    }
    yield env
    subprocess.run([str(REPO_ROOT / "scripts" / "localenv"), "down"], env=env, check=False, capture_output=True)


def _localenv(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO_ROOT / "scripts" / "localenv"), *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_up_from_nothing_loopback_only_and_down_leaves_nothing(second_env: dict[str, str], tmp_path: Path) -> None:
    started = time.monotonic()
    up = _localenv(second_env, "up")
    assert up.returncode == 0, up.stderr
    assert f"export KUBECONFIG={tmp_path / 'env' / 'kubeconfig'}" in up.stdout
    assert (tmp_path / "env" / "env.sh").read_text().strip() == up.stdout.strip()
    assert _localenv(second_env, "status").returncode == 0
    up_seconds = time.monotonic() - started

    api = kube_config.new_client_from_config(config_file=str(tmp_path / "env" / "kubeconfig"))
    client.CoreV1Api(api).create_namespace({"metadata": {"name": "lifecycle"}})
    client.AppsV1Api(api).create_namespaced_deployment("lifecycle", demo_deployment("life", "v1", replicas=2))

    def ready() -> bool:
        status = client.AppsV1Api(api).read_namespaced_deployment("life", "lifecycle").status
        return (status.ready_replicas or 0) == 2

    eventually(ready, timeout=30, what="two demo pods in the second environment")
    api.close()

    layout = Layout(state=(tmp_path / "env").resolve(), ports=Layout.default().ports)
    pids = marked_processes(layout)
    assert len(pids) >= 9, "7 components and 2 demo pods"
    listeners = _listening_addresses(pids)
    assert listeners, "the components listen on something"
    assert set(listeners) <= LOOPBACK, f"listening beyond loopback: {listeners}"

    assert _localenv(second_env, "down").returncode == 0
    assert marked_processes(layout) == []
    assert _localenv(second_env, "status").returncode == 1
    print(f"second environment up (no build) in {up_seconds:.1f}s")
