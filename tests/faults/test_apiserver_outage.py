"""The real kube-apiserver stopped and restarted around a rollback: the record says what is known.

Stopped while rollcheck waits for the restored rollout (the PATCH was accepted): the wait re-lists until the
server is back, the rollback is recorded as applied and recovered. Stopped before the rollback starts: the
rollback fails with a clear cluster-unavailable error, nothing is changed, and the run exits 6.
"""

from __future__ import annotations

import pytest
from fault_runs import PluginRun
from fault_runs import environment_is_up
from fault_runs import image
from fault_runs import localenv_variables
from fault_runs import restart
from fault_runs import restart_command
from fault_runs import two_revisions

from localenv_support import LocalEnv
from localenv_support import Releases
from localenv_support import eventually
from rollcheck import ExitCode

pytestmark = pytest.mark.disruptive


def test_an_outage_while_the_restored_rollout_is_awaited_ends_applied_and_recovered(
    pytester: pytest.Pytester, releases: Releases, localenv: LocalEnv
) -> None:
    name = "outage-after-patch"
    # Stopping the API server takes up to 10s (it drains), starting it ~6s: longer than the demo's 30s progress
    # deadline allows once the controller counts the outage, so the deadline is moved out of the way here.
    two_revisions(releases, name, progress_deadline=600)
    run = PluginRun(pytester, kubeconfig=localenv.kubeconfig, namespace=releases.namespace, name=name)
    process = run.start()
    try:
        # The PATCH has landed once the template is v1 again; the controller has not finished restoring it yet,
        # and cannot while the API server is away, so rollcheck is inside its wait for the restored rollout.
        eventually(lambda: image(releases, name) == "rollcheck-demo:v1", timeout=60, interval=0.05, what="the PATCH")
        away = restart(localenv, "kube-apiserver", down_for=3)
    finally:
        finished = run.finish(process)

    assert away >= 3
    assert finished.returncode == ExitCode.FAILED, finished.stderr[-3000:]
    rollback = finished.report["rollback"]
    assert (rollback["action"], rollback["recovered"], rollback["error"]) == ("rolled_back", True, None)
    assert (rollback["from_version"], rollback["to_version"]) == ("v2", "v1")
    assert rollback["issued_at"] is not None
    assert finished.report["exit_code"] == ExitCode.FAILED
    releases.wait_rollout(name)
    assert image(releases, name) == "rollcheck-demo:v1"


# The check itself takes the API server away (in the background, for longer than rollcheck's retries last),
# waits until it refuses connections, and fails: the rollback then starts against a cluster that is not there.
OUTAGE_CHECK = """
import os, socket, subprocess, time

def test_release_is_bad():
    subprocess.Popen({command!r}, env=dict(os.environ, **{env!r}), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", {port})) != 0:
                break
        time.sleep(0.05)
    assert False, "the release is broken"
"""


def test_an_outage_before_the_rollback_is_a_clear_cluster_unavailable_failure(
    pytester: pytest.Pytester, releases: Releases, localenv: LocalEnv
) -> None:
    name = "outage-before-patch"
    two_revisions(releases, name)
    checks = OUTAGE_CHECK.format(
        command=restart_command("kube-apiserver", 8),
        env=localenv_variables(localenv),
        port=localenv.layout.ports.apiserver,
    )
    run = PluginRun(pytester, kubeconfig=localenv.kubeconfig, namespace=releases.namespace, name=name, checks=checks)
    try:
        finished = run.run()
    finally:
        eventually(lambda: environment_is_up(localenv), timeout=90, interval=1, what="the API server back")

    assert finished.returncode == ExitCode.ROLLBACK_FAILED, finished.stderr[-3000:]
    report = finished.report
    rollback = report["rollback"]
    assert rollback["action"] == "failed"
    assert rollback["issued_at"] is None
    # Proof that the rollback met the outage, not a server already back: the connection was refused.
    assert "the Kubernetes API could not be reached" in rollback["error"], rollback["error"]
    assert "Connection refused" in rollback["error"], rollback["error"]
    assert f"deployment {releases.namespace}/{name}" in rollback["error"]
    assert report["exit_code"] == ExitCode.ROLLBACK_FAILED
    assert image(releases, name) == "rollcheck-demo:v2", "nothing was sent, so nothing changed"
