"""A CI job cancelled while rollcheck rolls back, on the real cluster: the report says what was done."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from localenv_support import LocalEnv
from localenv_support import Releases
from localenv_support import eventually
from rollcheck import ExitCode
from rollcheck.act import INTERRUPTED_ERROR
from rollcheck.act import PENDING_ERROR


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    return data


def _image(releases: Releases, name: str) -> str:
    deployment = releases.apps.read_namespaced_deployment(name, releases.namespace)
    return str(deployment.spec.template.spec.containers[0].image)


def test_sigterm_while_waiting_for_the_restored_rollout_records_an_issued_rollback_of_unknown_outcome(
    pytester: pytest.Pytester, releases: Releases, localenv: LocalEnv, tmp_path: Path
) -> None:
    name = "stuck-restore"
    # v1 crash-loops, so the rollout that restores it never completes (its progress deadline is far away): the
    # rollback's wait can only end by its timeout or by the signal this test sends.
    releases.deploy(name, "v1", replicas=1, env={"DEMO_CRASH": "1"}, progress_deadline=600)
    releases.set_release(name, "v2", env={"DEMO_CRASH": "0"})
    releases.wait_rollout(name)
    pytester.makeini("[pytest]\n")
    pytester.makepyfile("def test_bad():\n    assert False, 'release is broken'\n")
    report = tmp_path / "report" / "report.json"
    stderr = tmp_path / "stderr"
    with stderr.open("w") as err:
        process = pytester.popen(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "rollcheck",
                "-p",
                "no:cacheprovider",
                f"--rollcheck-report-dir={report.parent}",
                f"--rollcheck-target=deployment/{name}",
                f"--rollcheck-namespace={releases.namespace}",
                f"--rollcheck-kubeconfig={localenv.kubeconfig}",
                "--rollcheck-rollout-timeout=300",
            ],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        try:
            # Nothing else writes report.json before the rollback's wait ends: what appears now is the preliminary
            # report, written before the PATCH was sent.
            preliminary = eventually(lambda: _read(report), timeout=60, what="the preliminary report.json")
            eventually(lambda: _image(releases, name) == "rollcheck-demo:v1", timeout=30, what="the rollback patch")
            time.sleep(2)  # well inside the wait for the restored rollout
            assert process.poll() is None, "the run ended before it was cancelled"
            cancelled_at = time.monotonic()
            process.send_signal(signal.SIGTERM)  # CI cancels the job
            returncode = process.wait(timeout=60)
            took = time.monotonic() - cancelled_at
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

    assert preliminary["rollback"]["action"] == "rolled_back"
    assert preliminary["rollback"]["error"] == PENDING_ERROR
    assert preliminary["rollback"]["error"].startswith("outcome pending: the rollback request is being sent")
    assert (preliminary["rollback"]["from_version"], preliminary["rollback"]["to_version"]) == ("v2", "v1")
    assert preliminary["rollback"]["issued_at"] is None
    assert preliminary["timings"]["finished_at"] is None
    assert (preliminary["verdict"], preliminary["exit_code"]) == ("failed", ExitCode.ROLLBACK_FAILED)

    final = _read(report)
    assert final is not None
    assert returncode == ExitCode.ROLLBACK_FAILED, stderr.read_text()[-3000:]
    assert took < 30, f"the wait went on for {took:.0f}s after SIGTERM"
    rollback = final["rollback"]
    assert (rollback["action"], rollback["recovered"], rollback["error"]) == ("rolled_back", None, INTERRUPTED_ERROR)
    assert rollback["issued_at"] is not None
    assert final["timings"]["rollback_issued_at"] == rollback["issued_at"]
    assert final["timings"]["finished_at"] is not None
    assert final["exit_code"] == ExitCode.ROLLBACK_FAILED
    [line] = [line for line in stderr.read_text().splitlines() if line.startswith('{"event"')]
    assert json.loads(line)["event"] == "rollcheck.rollback.rolled_back"
