"""The target Deployment is deleted while the checks run: the rollback finds nothing to restore and says so."""

from __future__ import annotations

import pytest
from fault_runs import PluginRun
from fault_runs import two_revisions

from localenv_support import LocalEnv
from localenv_support import Releases
from rollcheck import ExitCode

# The check deletes its own target through kubectl (as someone tearing the release down mid-run would), then
# fails, so that rollcheck wants to roll back a Deployment that is gone.
DELETING_CHECK = """
import subprocess

def test_release_is_bad():
    subprocess.run(
        [{kubectl!r}, "--kubeconfig={kubeconfig}", "-n", {namespace!r}, "delete", "deployment", {name!r}],
        check=True, capture_output=True, timeout=60,
    )
    assert False, "the release is broken"
"""


def test_a_target_deleted_during_the_checks_is_a_failed_rollback_with_a_report(
    pytester: pytest.Pytester, releases: Releases, localenv: LocalEnv
) -> None:
    name = "vanishing"
    two_revisions(releases, name)
    checks = DELETING_CHECK.format(
        kubectl=str(localenv.kubectl), kubeconfig=localenv.kubeconfig, namespace=releases.namespace, name=name
    )
    run = PluginRun(pytester, kubeconfig=localenv.kubeconfig, namespace=releases.namespace, name=name, checks=checks)

    finished = run.run()

    assert finished.returncode == ExitCode.ROLLBACK_FAILED, finished.stderr[-3000:]
    report = finished.report
    assert (report["verdict"], report["exit_code"]) == ("failed", ExitCode.ROLLBACK_FAILED)
    rollback = report["rollback"]
    assert rollback["action"] == "failed"
    assert rollback["issued_at"] is None, "nothing can have been sent to a Deployment that is gone"
    assert rollback["error"].startswith(f"deployment/{name} no longer exists in namespace {releases.namespace}")
    assert "nothing to roll back" in rollback["error"]
    assert f"deployment {releases.namespace}/{name}" in rollback["error"]
    assert "404 Not Found" in rollback["error"], rollback["error"]
    assert f'deployments.apps "{name}" not found' in rollback["error"], rollback["error"]
    assert rollback["finished_at"] is not None
    [line] = [line for line in finished.stderr.splitlines() if line.startswith('{"event"')]
    assert '"event":"rollcheck.rollback.failed"' in line
