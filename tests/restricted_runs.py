"""`rollcheck run` as a restricted identity: a client certificate from `scripts/localenv identity`, bound to
exactly the Roles a test gives it, running one check file that leaves a marker when it runs."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

from kubernetes import client

from localenv_support import REPO_ROOT
from rollcheck_runs import RollcheckRun

__all__ = ["bind_user", "identity_kubeconfig", "run_as"]

_CHECK = """
from pathlib import Path

def test_release_is_good():
    Path({marker!r}).write_text("ran")
    assert {passes!r}, "the release is bad (this check fails on purpose)"
"""


def identity_kubeconfig(user: str) -> Path:
    """A kubeconfig for `user` (a client certificate signed by the local CA); it may do nothing until bound."""
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "localenv"), "identity", user], capture_output=True, text=True, check=True
    )
    return Path(result.stdout.strip())


def bind_user(api: client.ApiClient, namespace: str, role: str, user: str, *, cluster_role: bool = False) -> None:
    """A RoleBinding in `namespace` giving `user` the Role (or ClusterRole) `role` there."""
    client.RbacAuthorizationV1Api(api).create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": f"{role}-{user}"[:63]},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole" if cluster_role else "Role",
                "name": role,
            },
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        },
    )


def run_as(
    kubeconfig: Path, target: str, namespace: str, tmp_path: Path, *args: str, check_passes: bool = True
) -> tuple[RollcheckRun, Path]:
    """Run `rollcheck run` with only a check file of ours (no HTTP, no Prometheus); returns the run and the
    marker file the check writes when it runs."""
    checks = tmp_path / "checks"
    checks.mkdir(parents=True, exist_ok=True)
    marker = tmp_path / "check-ran"
    (checks / "test_release.py").write_text(
        textwrap.dedent(_CHECK.format(marker=str(marker), passes=check_passes)), encoding="utf-8"
    )
    report_dir = tmp_path / "report"
    command = [
        str(REPO_ROOT / ".venv" / "bin" / "rollcheck"),
        "run",
        f"--target={target}",
        f"--namespace={namespace}",
        "--rollout-timeout=60s",
        f"--report-dir={report_dir}",
        "--no-builtin-checks",
        *args,
        str(checks),
    ]
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLCHECK_", "PYTEST_", "KUBECONFIG"))}
    environment["KUBECONFIG"] = str(kubeconfig)  # as in CI: the identity comes from the environment
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=environment)
    return RollcheckRun(result.returncode, result.stdout, result.stderr, report_dir), marker
