"""`rollcheck run -t helm/NAME` end to end: real helm, real cluster, real Prometheus, a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from helm_support import HelmRelease

from localenv_support import LocalEnv
from rollcheck import ExitCode

# A gating check that fails at once: these runs are about what happens after a failed verdict, not about
# measuring one, so they need no metric window.
FAILING_CHECK = """
import pytest

@pytest.mark.rollcheck_check(category="custom", severity="critical")
def test_the_release_is_bad():
    assert False, "the release is bad"
"""

# The same, after a real `helm upgrade` made while rollcheck runs: someone deployed after the verified revision.
# Once only: a failed check may be re-run to confirm its failure.
UPGRADING_CHECK = """
import json, os, pathlib, subprocess
import pytest

@pytest.mark.rollcheck_check(category="custom", severity="critical")
def test_someone_upgrades_meanwhile_and_the_release_is_bad():
    done = pathlib.Path(os.environ["UPGRADE_DONE"])
    if not done.exists():
        subprocess.run(json.loads(os.environ["UPGRADE_ARGV"]), check=True, capture_output=True, timeout=120)
        done.touch()
    assert False, "the release is bad"
"""


def _check_file(tmp_path: Path, source: str) -> str:
    path = tmp_path / "checks" / "test_custom.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(source)
    return str(path)


def test_a_bad_upgrade_is_rolled_back_to_the_previous_revision(helm_release: HelmRelease) -> None:
    helm_release.deploy("v1")
    helm_release.deploy("v2", errorRate="0.5")
    run = helm_release.run("--expect-image=rollcheck-demo:v2")
    assert run.returncode == ExitCode.FAILED, run.stdout[-3000:] + run.stderr[-2000:]
    report = run.report
    assert report["target"] == f"helm/{helm_release.name}"
    assert (report["release"]["revision"], report["release"]["version"]) == (2, "v2")
    outcomes = {check["id"]: check["outcome"] for check in report["checks"]}
    assert outcomes["test_error_rate.py::test_error_rate"] == "failed"
    assert outcomes["test_rollout.py::test_rollout_complete"] == "passed"
    rollback = report["rollback"]
    assert rollback["action"] == "rolled_back", rollback
    assert (rollback["from_revision"], rollback["to_revision"]) == (2, 1)
    assert (rollback["from_version"], rollback["to_version"]) == ("v2", "v1")
    assert rollback["recovered"] is True
    first, _, restored = helm_release.history()
    assert (restored["revision"], restored["status"], restored["description"]) == (3, "deployed", "Rollback to 1")
    assert (
        (restored["chart"], restored["app_version"]) == (first["chart"], first["app_version"]) == ("demo-1.0.0", "v1")
    )
    assert helm_release.image() == "rollcheck-demo:v1"
    assert '"event":"rollcheck.rollback.rolled_back"' in run.stderr


def test_an_upgrade_that_never_becomes_ready_fails_its_rollout_and_is_rolled_back(helm_release: HelmRelease) -> None:
    helm_release.deploy("v1")
    helm_release.deploy("v2", wait=False, healthFail="true")  # its pods never pass /health, so never Ready
    run = helm_release.run("--rollout-timeout=20s")
    assert run.returncode == ExitCode.FAILED, run.stdout[-3000:] + run.stderr[-2000:]
    [rollout] = [check for check in run.report["checks"] if check["id"] == "test_rollout.py::test_rollout_complete"]
    assert rollout["outcome"] == "failed"
    assert f"deployment/{helm_release.name} in namespace {helm_release.namespace}: " in rollout["message"]
    rollback = run.report["rollback"]
    assert (rollback["action"], rollback["from_revision"], rollback["to_revision"]) == ("rolled_back", 2, 1)
    assert rollback["recovered"] is True
    helm_release.wait_rollout()
    assert helm_release.image() == "rollcheck-demo:v1"


def test_an_upgrade_after_the_verified_revision_is_not_rolled_back(helm_release: HelmRelease) -> None:
    helm_release.deploy("v1")
    helm_release.deploy("v2")
    check = _check_file(helm_release.tmp_path, UPGRADING_CHECK)
    upgrade = {"UPGRADE_ARGV": json.dumps(helm_release.upgrade_command("v3")), "UPGRADE_DONE": check + ".done"}
    run = helm_release.run("--no-builtin-checks", check, env=upgrade)
    assert run.returncode == ExitCode.FAILED, run.stdout[-3000:] + run.stderr[-2000:]
    rollback = run.report["rollback"]
    assert rollback["action"] == "skipped", rollback
    assert "is at revision 3, not the verified revision 2" in rollback["reason"]
    assert [entry["chart"] for entry in helm_release.history()] == ["demo-1.0.0", "demo-2.0.0", "demo-3.0.0"]
    helm_release.wait_rollout()
    assert helm_release.image() == "rollcheck-demo:v3"


def test_a_release_with_one_revision_cannot_be_rolled_back(helm_release: HelmRelease) -> None:
    helm_release.deploy("v1")
    run = helm_release.run("--no-builtin-checks", _check_file(helm_release.tmp_path, FAILING_CHECK))
    assert run.returncode == ExitCode.ROLLBACK_FAILED, run.stdout[-3000:] + run.stderr[-2000:]
    rollback = run.report["rollback"]
    assert rollback["action"] == "failed"
    assert rollback["error"] == (
        f"helm release {helm_release.namespace}/{helm_release.name} has no deployed or superseded revision "
        "before revision 1 to roll back to"
    )
    assert [entry["revision"] for entry in helm_release.history()] == [1]
    assert helm_release.image() == "rollcheck-demo:v1"
    assert "Traceback" not in run.stderr


def test_a_release_that_does_not_exist_is_inconclusive_and_says_so(helm_release: HelmRelease) -> None:
    run = helm_release.run("--no-builtin-checks", _check_file(helm_release.tmp_path, FAILING_CHECK))
    assert run.returncode == ExitCode.INCONCLUSIVE, run.stdout[-3000:] + run.stderr[-2000:]
    assert f"helm status {helm_release.namespace}/{helm_release.name}" in run.report["reason"]
    assert "release: not found" in run.report["reason"]
    assert run.report["rollback"]["action"] == "not_needed"
    assert "Traceback" not in run.stderr


def test_a_missing_helm_binary_is_a_one_line_usage_error(helm_release: HelmRelease, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "helm"
    run = helm_release.run(f"--helm={missing}")
    assert run.returncode == ExitCode.USAGE_ERROR
    [line] = run.stderr.strip().splitlines()
    assert f"--helm='{missing}' (from command line)" in line
    assert "not an executable file" in line

    run = helm_release.run(env={"ROLLCHECK_HELM": "helm-not-installed"})
    assert run.returncode == ExitCode.USAGE_ERROR
    [line] = run.stderr.strip().splitlines()
    assert "ROLLCHECK_HELM='helm-not-installed' (from environment)" in line
    assert "not found on PATH" in line

    run = helm_release.run(env={"PATH": "/usr/bin:/bin"})
    assert run.returncode == ExitCode.USAGE_ERROR
    [line] = run.stderr.strip().splitlines()
    assert "--helm='helm' (from default): was not found on PATH" in line
    assert not (helm_release.tmp_path / "report" / "report.json").exists(), "a usage error runs nothing"


def test_env_sh_provides_helm_with_its_homes_under_localenv(localenv: LocalEnv) -> None:
    # What a developer's shell gets from `source .localenv/env.sh`: helm next to kubectl, and nothing of helm's
    # in ~/.config or ~/.cache.
    script = f'source "{localenv.state_dir / "env.sh"}" && command -v helm && helm env'
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=30, check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")},
    )  # fmt: skip
    where, *variables = result.stdout.splitlines()
    assert Path(where) == localenv.state_dir / "bin" / "helm"
    assert Path(where).resolve().parent == localenv.kubectl.resolve().parent
    homes = dict(line.replace('"', "").split("=", 1) for line in variables if line.startswith("HELM_"))
    for name in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        assert Path(homes[name]).is_relative_to(localenv.state_dir), homes
