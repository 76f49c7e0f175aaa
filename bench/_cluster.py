"""The local environment as the benchmarks use it: its kubeconfig and kubectl, throwaway namespaces, demo
Deployments, and timing a child process (wall time and its own peak memory)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes import config as kube_config

import localenv_support
from rollcheck_localenv.layout import Layout

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = REPO_ROOT / ".venv" / "bin"
BYTECODE_CACHE = REPO_ROOT / "build" / "bench-bytecode"
"""Where the children of the bench keep their compiled modules between runs."""


@dataclass(frozen=True)
class Timed:
    """One child process: how long it took, how much memory it used at most, and what it said."""

    seconds: float
    peak_rss_mb: float
    returncode: int
    output: str


def run_timed(command: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float = 300) -> Timed:
    """Run a command to completion, timed by the wall clock. Its peak_rss_mb is at least the bench's own (wait4
    carries the parent's high-water mark across exec): for a command's own memory, use run_measured."""
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command), cwd=cwd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    killer = threading.Timer(timeout, process.kill)
    killer.start()
    try:
        assert process.stdout is not None
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        killer.cancel()
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait for it again
    if seconds >= timeout:
        raise RuntimeError(f"{command[0]} ran past {timeout:g}s:\n{output[-2000:]}")
    return Timed(seconds, usage.ru_maxrss / 1024, process.returncode, output)


# Runs argv[2:] as its child and writes the child's wall seconds and peak RSS (KiB) to the file argv[1]. The
# child dies with the reaper (PR_SET_PDEATHSIG), so run_timed's kill on timeout stops both.
_REAPER = """
import ctypes, os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    ctypes.CDLL(None).prctl(1, 9)
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{time.perf_counter() - started} {usage.ru_maxrss}")
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_measured(
    command: Sequence[str], *, cwd: Path, env: Mapping[str, str], measurements: Path, timeout: float = 300
) -> Timed:
    """run_timed, with the command's own peak RSS and wall time. wait4 on a child we spawn reports at least our
    own peak RSS (the kernel carries the high-water mark of the memory the child was spawned from across exec),
    so the command runs under a small Python reaper instead, whose footprint (about 10 MB) is the floor."""
    timed = run_timed([sys.executable, "-c", _REAPER, str(measurements), *command], cwd=cwd, env=env, timeout=timeout)
    seconds, peak_kib = measurements.read_text().split()
    return Timed(float(seconds), int(peak_kib) / 1024, timed.returncode, timed.output)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment a CI job would give a child: no ROLLCHECK_* or PYTEST_* from the caller, and Python's
    bytecode cached (in BYTECODE_CACHE), as an installed package has it. Without that (PYTHONDONTWRITEBYTECODE
    in the caller's environment), every run compiled rollcheck's modules and pytest rewrote the plugins' asserts
    again: seconds a team's CI does not spend, on either side of a comparison."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLCHECK_", "PYTEST_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(BYTECODE_CACHE)
    env.update(extra)
    return env


class Cluster:
    """The local environment's API server, through the admin kubeconfig `scripts/localenv up` wrote."""

    def __init__(self) -> None:
        self.layout = Layout.default()
        if not self.layout.kubeconfig.exists():
            raise SystemExit("the local environment is not up: run `make localenv` (or scripts/localenv up) first")
        configuration = client.Configuration()
        kube_config.load_kube_config(str(self.layout.kubeconfig), client_configuration=configuration)
        self.api = client.ApiClient(configuration)
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)

    @property
    def kubeconfig(self) -> Path:
        return self.layout.kubeconfig

    @property
    def kubectl(self) -> Path:
        return self.layout.bin / "kubectl"

    @property
    def prometheus_url(self) -> str:
        return self.layout.prometheus_url

    @contextmanager
    def namespace(self, prefix: str) -> Iterator[str]:
        name = f"{prefix}-{os.getpid()}-{int(time.time()) % 100000}"
        self.core.create_namespace({"metadata": {"name": name}})
        try:
            yield name
        finally:
            self.core.delete_namespace(name)
            # Gone before the next group starts: a hundred pods being stopped is noise no group should measure.
            wait_until(lambda: self._gone(name), what=f"namespace {name} deleted", timeout=180)

    def _gone(self, namespace: str) -> bool:
        try:
            self.core.read_namespace(namespace)
        except client.ApiException as error:
            if error.status == 404:
                return True
            raise
        return False

    def deploy(self, namespace: str, name: str, version: str, **options: Any) -> None:
        self.apps.create_namespaced_deployment(namespace, demo_deployment(name, version, **options))

    def set_version(self, namespace: str, name: str, version: str, env: Mapping[str, str] | None = None) -> None:
        """A new revision, like `kubectl set image` (and env): the controller creates a new ReplicaSet."""
        container = {"name": "app", "image": f"rollcheck-demo:{version}"}
        if env is not None:
            container["env"] = [{"name": k, "value": v} for k, v in env.items()]  # type: ignore[assignment]
        self.apps.patch_namespaced_deployment(
            name, namespace, {"spec": {"template": {"spec": {"containers": [container]}}}}
        )

    def image(self, namespace: str, name: str) -> str:
        deployment = self.apps.read_namespaced_deployment(name, namespace)
        return str(deployment.spec.template.spec.containers[0].image)

    def settled(self, namespace: str, name: str) -> bool:
        """The controller has seen the newest spec (its ReplicaSet exists), which is all a rollback needs."""
        deployment = self.apps.read_namespaced_deployment(name, namespace)
        return (deployment.status.observed_generation or 0) >= deployment.metadata.generation

    def rolled_out(self, namespace: str, name: str) -> bool:
        """kubectl rollout status's 'successfully rolled out'."""
        deployment = self.apps.read_namespaced_deployment(name, namespace)
        spec, status = deployment.spec, deployment.status
        if (status.observed_generation or 0) < deployment.metadata.generation:
            return False
        updated = status.updated_replicas or 0
        return (
            updated >= spec.replicas
            and (status.replicas or 0) <= updated
            and (status.available_replicas or 0) >= updated
        )


def wait_until(probe: Callable[[], bool], *, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.1)


def demo_deployment(name: str, version: str, *, history: int | None = None, **options: Any) -> dict[str, Any]:
    """The tests' demo Deployment (one replica unless told), optionally keeping `history` old ReplicaSets."""
    manifest = localenv_support.demo_deployment(name, version, **{"replicas": 1, **options})
    if history is not None:
        manifest["spec"]["revisionHistoryLimit"] = history
    return manifest
