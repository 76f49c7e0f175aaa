"""Preflight on the local cluster: before any check runs, would a rollback be possible?"""

from __future__ import annotations

import uuid
from pathlib import Path

from kubernetes import client

from localenv_support import LocalEnv
from localenv_support import Releases
from restricted_runs import bind_user
from restricted_runs import identity_kubeconfig
from restricted_runs import run_as
from rollcheck import ExitCode
from rollcheck_runs import RollcheckRun


def _problems(run: RollcheckRun) -> dict[str, str]:
    return {problem["check"]: problem["message"] for problem in run.report["preflight"]["problems"]}


def _output(run: RollcheckRun) -> str:
    return run.stdout[-3000:] + run.stderr[-2000:]


def test_two_revisions_with_admin_rights_are_ready(releases: Releases, localenv: LocalEnv, tmp_path: Path) -> None:
    releases.deploy("ready", "v1", replicas=1)
    releases.wait_rollout("ready")
    releases.set_release("ready", "v2")
    releases.wait_rollout("ready")
    run, marker = run_as(localenv.kubeconfig, "deployment/ready", releases.namespace, tmp_path)
    assert run.returncode == ExitCode.PASSED, _output(run)
    preflight = run.report["preflight"]
    assert preflight == {"checked": True, "ready": True, "required": False, "problems": [], "notes": []}
    assert "rollcheck: WARNING: preflight" not in run.stdout
    assert marker.read_text() == "ran"


def test_single_revision_warns_and_the_checks_still_run(releases: Releases, localenv: LocalEnv, tmp_path: Path) -> None:
    releases.deploy("single", "v1", replicas=1)
    releases.wait_rollout("single")
    run, marker = run_as(localenv.kubeconfig, "deployment/single", releases.namespace, tmp_path)
    assert run.returncode == ExitCode.PASSED, _output(run)
    assert list(_problems(run)) == ["previous_revision"]
    assert 'no rollout history found for deployment "single"' in _problems(run)["previous_revision"]
    assert run.report["preflight"]["ready"] is False
    assert "WARNING: preflight: a rollback would fail: no previous revision" in run.stdout
    assert marker.read_text() == "ran"


def test_revision_history_limit_zero_warns(releases: Releases, localenv: LocalEnv, tmp_path: Path) -> None:
    manifest = releases.deploy("nohistory", "v1", replicas=1)
    releases.apps.patch_namespaced_deployment("nohistory", releases.namespace, {"spec": {"revisionHistoryLimit": 0}})
    releases.wait_rollout("nohistory")
    releases.set_release("nohistory", "v2")
    releases.wait_rollout("nohistory")
    assert manifest["metadata"]["name"] == "nohistory"
    run, _ = run_as(localenv.kubeconfig, "deployment/nohistory", releases.namespace, tmp_path)
    assert run.returncode == ExitCode.PASSED, _output(run)
    problems = _problems(run)
    assert "revisionHistoryLimit: 0" in problems["revision_history_limit"]
    assert "deployment/nohistory" in problems["revision_history_limit"]
    assert "revisionHistoryLimit: 0" in run.stdout


def test_paused_deployment_warns(releases: Releases, localenv: LocalEnv, tmp_path: Path) -> None:
    releases.deploy("paused", "v1", replicas=1)
    releases.wait_rollout("paused")
    releases.set_release("paused", "v2")
    releases.wait_rollout("paused")
    releases.apps.patch_namespaced_deployment("paused", releases.namespace, {"spec": {"paused": True}})
    run, _ = run_as(localenv.kubeconfig, "deployment/paused", releases.namespace, tmp_path)
    assert run.returncode == ExitCode.PASSED, _output(run)
    assert list(_problems(run)) == ["paused"]
    assert "kubectl rollout resume" in _problems(run)["paused"]


def _reader_without_patch(api: client.ApiClient, namespace: str) -> Path:
    """An identity that can read the release (and ask SelfSubjectAccessReviews) but not patch it."""
    client.RbacAuthorizationV1Api(api).create_namespaced_role(
        namespace,
        {
            "metadata": {"name": "reader"},
            "rules": [
                {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["list"]},
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
            ],
        },
    )
    user = f"reader-{uuid.uuid4().hex[:6]}"
    bind_user(api, namespace, "reader", user)
    return identity_kubeconfig(user)


def test_identity_without_patch_rights_warns_then_fails_first_when_required(
    releases: Releases, localenv: LocalEnv, kube_api: client.ApiClient, tmp_path: Path
) -> None:
    releases.deploy("unpatchable", "v1", replicas=1)
    releases.wait_rollout("unpatchable")
    releases.set_release("unpatchable", "v2")
    releases.wait_rollout("unpatchable")
    kubeconfig = _reader_without_patch(kube_api, releases.namespace)

    warned, marker = run_as(kubeconfig, "deployment/unpatchable", releases.namespace, tmp_path / "warn")
    assert warned.returncode == ExitCode.PASSED, _output(warned)
    message = _problems(warned)["patch_allowed"]
    assert f'may not patch deployments.apps "unpatchable" in namespace "{releases.namespace}"' in message
    assert "SelfSubjectAccessReview: denied" in message
    assert marker.read_text() == "ran"

    required, marker = run_as(
        kubeconfig, "deployment/unpatchable", releases.namespace, tmp_path / "required", "--require-rollback-ready"
    )
    assert required.returncode == ExitCode.USAGE_ERROR, _output(required)
    assert not marker.exists(), "a check ran although preflight failed with --require-rollback-ready"
    report = required.report
    assert report["checks"] == []
    assert report["preflight"]["required"] is True
    assert report["reason"].startswith("not rollback-ready, so no check ran (--require-rollback-ready)")
    assert "may not patch deployments.apps" in report["reason"]
    assert report["rollback"]["action"] == "not_needed"
    assert "no check runs" in required.stdout
    assert "Traceback" not in required.stdout + required.stderr
