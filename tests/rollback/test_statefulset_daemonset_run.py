"""`rollcheck run -t statefulset/NAME` and `-t daemonset/NAME` end to end, on the real cluster and Prometheus: a
release whose checks fail is rolled back to the previous ControllerRevision and recovers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from localenv_support import REPO_ROOT
from localenv_support import LocalEnv
from localenv_support import free_port
from revisioned_workloads import KINDS
from revisioned_workloads import Workloads
from rollcheck import ExitCode
from rollcheck.kube import Kube
from rollcheck.rollback import ROLLED_BACK_FROM
from rollcheck.target import TargetKind
from rollcheck.target import TargetRef
from rollcheck_runs import RollcheckRun
from rollcheck_runs import _base_env


@pytest.mark.parametrize("kind", KINDS)
def test_a_failing_release_is_rolled_back_and_recovers(
    kind: TargetKind, rollcheck_kube: Kube, namespace: str, localenv: LocalEnv, tmp_path: Path
) -> None:
    workloads = Workloads(rollcheck_kube, namespace, localenv)
    target = TargetRef(kind, f"run-{kind.value[:3]}")
    port = free_port()
    workloads.create(kind, target.name, "v1", port=port, replicas=2)
    workloads.wait(target)
    workloads.set_release(target, "v2", env={"DEMO_ERROR_RATE": "0.5"})
    workloads.wait(target)
    report_dir = tmp_path / "report"

    result = subprocess.run(
        [
            str(REPO_ROOT / ".venv" / "bin" / "rollcheck"), "run", f"--target={target}", f"--namespace={namespace}",
            f"--kubeconfig={localenv.kubeconfig}", f"--base-url=http://127.0.0.1:{port}",
            f"--prometheus-url={localenv.prometheus_url}", "--window=10s", "--min-requests=20",
            "--rollout-timeout=90s", f"--report-dir={report_dir}",
        ],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=_base_env(), check=False,
    )  # fmt: skip
    run = RollcheckRun(result.returncode, result.stdout, result.stderr, report_dir)

    assert run.returncode == ExitCode.FAILED, run.stdout[-3000:] + run.stderr[-2000:]
    report = run.report
    assert (report["target"], report["release"]["revision"], report["release"]["version"]) == (str(target), 2, "v2")
    assert "failed" in {check["outcome"] for check in report["checks"] if check["category"] == "error_rate"}
    rollback = report["rollback"]
    assert (rollback["action"], rollback["from_revision"], rollback["to_revision"]) == ("rolled_back", 2, 1)
    assert (rollback["from_version"], rollback["to_version"], rollback["recovered"]) == ("v2", "v1", True)
    assert workloads.image(target) == "rollcheck-demo:v1"
    assert workloads.get(target)["metadata"]["annotations"][ROLLED_BACK_FROM] == "revision 2 (v2)"
    assert sorted(workloads.revisions(target).values()) == [2, 3], "revision 1 re-used as 3, as kubectl's undo"
