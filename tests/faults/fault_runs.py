"""Helpers for the fault tests: a release with two revisions, a rollcheck run in its own process (signals, exit
statuses and reports are real), and an outage of a shared component of the local environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localenv_support import REPO_ROOT
from localenv_support import LocalEnv
from localenv_support import Releases
from rollcheck_localenv.layout import Ports
from rollcheck_runs import RollcheckRun

#: Where scripts/build-binaries keeps the control-plane binaries, read before pytester points HOME at a
#: temporary directory: `scripts/localenv restart` in a test must find them, not build them again.
BINARY_CACHE = os.environ.get("ROLLCHECK_CACHE") or str(Path.home() / ".cache" / "rollcheck")

#: A check file whose only check fails: the release is judged bad, so rollcheck rolls back.
FAILING_CHECK = "def test_release_is_bad():\n    assert False, 'the release is broken'\n"


def two_revisions(releases: Releases, name: str, *, progress_deadline: int = 30) -> None:
    """v1 then v2, each rolled out: a rollback restores v1."""
    releases.deploy(name, "v1", replicas=1, progress_deadline=progress_deadline)
    releases.wait_rollout(name)
    releases.set_release(name, "v2")
    releases.wait_rollout(name)


def image(releases: Releases, name: str) -> str:
    deployment = releases.apps.read_namespaced_deployment(name, releases.namespace)
    return str(deployment.spec.template.spec.containers[0].image)


class PluginRun:
    """`pytest -p rollcheck` on a check file, in a child process, against one Deployment."""

    def __init__(
        self, pytester: pytest.Pytester, *, kubeconfig: Path, namespace: str, name: str, checks: str = FAILING_CHECK
    ) -> None:
        self.pytester = pytester
        self.report_dir = pytester.path / "report"
        self.stderr_path = pytester.path / "stderr.txt"
        self.argv = [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "rollcheck",
            "-p",
            "no:cacheprovider",
            f"--rollcheck-report-dir={self.report_dir}",
            f"--rollcheck-target=deployment/{name}",
            f"--rollcheck-namespace={namespace}",
            f"--rollcheck-kubeconfig={kubeconfig}",
            "--rollcheck-rollout-timeout=60",
        ]
        # The inner run must not inherit this repository's addopts and filterwarnings.
        pytester.makeini("[pytest]\n")
        pytester.makepyfile(test_release_checks=checks)

    def start(self, *extra: str) -> subprocess.Popen[bytes]:
        with self.stderr_path.open("wb") as stderr:
            return subprocess.Popen(
                [*self.argv, *extra], cwd=self.pytester.path, stdout=subprocess.DEVNULL, stderr=stderr
            )

    def finish(self, process: subprocess.Popen[bytes], *, timeout: float = 90) -> RollcheckRun:
        try:
            returncode = process.wait(timeout=timeout)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        # stdout is not kept: the fault tests read the exit status, the JSON log line and the report.
        return RollcheckRun(returncode, "", self.stderr_path.read_text(errors="replace"), self.report_dir)

    def run(self, *extra: str, timeout: float = 90) -> RollcheckRun:
        return self.finish(self.start(*extra), timeout=timeout)


def localenv_variables(localenv: LocalEnv) -> dict[str, str]:
    """The variables that select this test session's environment, for `scripts/localenv` in a child process."""
    offset = localenv.layout.ports.apiserver - Ports().apiserver
    return {
        "ROLLCHECK_LOCALENV_DIR": str(localenv.state_dir),
        "ROLLCHECK_LOCALENV_PORT_OFFSET": str(offset),
        "ROLLCHECK_CACHE": BINARY_CACHE,
    }


def restart_command(component: str, down_for: float) -> list[str]:
    return [str(REPO_ROOT / "scripts" / "localenv"), "restart", component, f"--down-for={down_for:g}"]


def restart(localenv: LocalEnv, component: str, *, down_for: float) -> float:
    """Stop `component`, keep it down `down_for` seconds, start it again and wait until it is ready.
    Returns how long it was away."""
    started = time.monotonic()
    # Its own session, so that a restart that hangs is stopped with everything it started.
    process = subprocess.Popen(
        restart_command(component, down_for),
        env={**os.environ, **localenv_variables(localenv)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, stderr = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise AssertionError(f"restarting {component} took more than 90s") from None
    assert process.returncode == 0, f"restarting {component} failed ({process.returncode}): {stderr[-2000:]}"
    return time.monotonic() - started


def environment_is_up(localenv: LocalEnv) -> bool:
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "localenv"), "status"],
        env={**os.environ, **localenv_variables(localenv)},
        capture_output=True,
        timeout=60,
        check=False,
    )
    return result.returncode == 0
