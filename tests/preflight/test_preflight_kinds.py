"""Preflight of StatefulSet, DaemonSet and Helm targets on the local cluster: one revision warns (nothing to roll
back to), two revisions are ready. StatefulSets and DaemonSets go through `rollcheck run`; Helm releases through
the library with the real helm, whose patch question is skipped with a note."""

from __future__ import annotations

from pathlib import Path

import pytest
from helm_support import HelmRelease
from helm_support import helm_environment

from localenv_support import LocalEnv
from restricted_runs import run_as
from revisioned_workloads import KINDS
from revisioned_workloads import Workloads
from rollcheck import ExitCode
from rollcheck.helm import Helm
from rollcheck.helm import read_target_release
from rollcheck.kube import Kube
from rollcheck.preflight import preflight
from rollcheck.record import PreflightRecord
from rollcheck.target import TargetKind
from rollcheck.target import TargetRef
from rollcheck_runs import RollcheckRun


@pytest.fixture
def workloads(rollcheck_kube: Kube, namespace: str, localenv: LocalEnv) -> Workloads:
    return Workloads(rollcheck_kube, namespace, localenv)


def _problems(run: RollcheckRun) -> dict[str, str]:
    return {problem["check"]: problem["message"] for problem in run.report["preflight"]["problems"]}


def _output(run: RollcheckRun) -> str:
    return run.stdout[-3000:] + run.stderr[-2000:]


@pytest.mark.parametrize("kind", KINDS)
def test_a_single_controller_revision_warns_and_the_checks_still_run(
    kind: TargetKind, workloads: Workloads, localenv: LocalEnv, tmp_path: Path
) -> None:
    target = TargetRef(kind, f"single-{kind.value[:3]}")
    workloads.deploy(target, "v1", replicas=1)

    run, marker = run_as(localenv.kubeconfig, str(target), workloads.namespace, tmp_path)

    assert run.returncode == ExitCode.PASSED, _output(run)
    assert list(_problems(run)) == ["previous_revision"]
    message = _problems(run)["previous_revision"]
    assert f"no last revision to roll back to: {target} owns a single ControllerRevision" in message
    assert run.report["preflight"]["ready"] is False
    assert "WARNING: preflight: a rollback would fail: no previous revision" in run.stdout
    assert marker.read_text() == "ran"


@pytest.mark.parametrize("kind", KINDS)
def test_two_controller_revisions_with_admin_rights_are_ready(
    kind: TargetKind, workloads: Workloads, localenv: LocalEnv, tmp_path: Path
) -> None:
    target = TargetRef(kind, f"ready-{kind.value[:3]}")
    workloads.deploy(target, "v1", "v2", replicas=1)

    run, marker = run_as(localenv.kubeconfig, str(target), workloads.namespace, tmp_path)

    assert run.returncode == ExitCode.PASSED, _output(run)
    # The SelfSubjectAccessReview asked about this kind's resource, and the admin identity may patch it.
    assert run.report["preflight"] == {"checked": True, "ready": True, "required": False, "problems": [], "notes": []}
    assert "rollcheck: WARNING: preflight" not in run.stdout
    assert marker.read_text() == "ran"


def test_a_statefulset_keeping_no_history_fails_first_when_required(
    workloads: Workloads, localenv: LocalEnv, tmp_path: Path
) -> None:
    target = workloads.create(TargetKind.STATEFULSET, "nohistory", "v1", replicas=1)
    patch = {"spec": {"revisionHistoryLimit": 0}}
    workloads.kube.patch_raw("statefulset", target.name, workloads.namespace, patch, "application/merge-patch+json")
    workloads.wait(target)
    workloads.set_release(target, "v2")
    workloads.wait(target)

    run, marker = run_as(localenv.kubeconfig, str(target), workloads.namespace, tmp_path, "--require-rollback-ready")

    assert run.returncode == ExitCode.USAGE_ERROR, _output(run)
    assert not marker.exists(), "a check ran although preflight failed with --require-rollback-ready"
    problems = _problems(run)
    assert "statefulset/nohistory has revisionHistoryLimit: 0" in problems["revision_history_limit"]
    assert run.report["reason"].startswith("not rollback-ready, so no check ran (--require-rollback-ready)")


@pytest.fixture
def helm(helm_binary: Path, localenv: LocalEnv, monkeypatch: pytest.MonkeyPatch) -> Helm:
    # rollcheck runs helm with its own environment: give it the homes env.sh gives, as a user's shell would.
    for name, value in helm_environment(localenv).items():
        if name.startswith("HELM_"):
            monkeypatch.setenv(name, value)
    return Helm(binary=str(helm_binary), kubeconfig=localenv.kubeconfig)


def _helm_preflight(release: HelmRelease, kube: Kube, helm: Helm) -> PreflightRecord:
    target = TargetRef(TargetKind.HELM, release.name)
    verified = read_target_release(kube, helm, target, release.namespace, wait=0)
    return preflight(kube, verified, required=False, helm=helm)


def test_a_helm_release_with_one_revision_warns(helm_release: HelmRelease, rollcheck_kube: Kube, helm: Helm) -> None:
    helm_release.deploy("v1")

    record = _helm_preflight(helm_release, rollcheck_kube, helm)

    assert [problem.check for problem in record.problems] == ["previous_revision"]
    assert (
        f"helm release {helm_release.namespace}/{helm_release.name} has no deployed or superseded revision before "
        "revision 1" in record.problems[0].message
    )
    assert record.to_dict()["ready"] is False


def test_a_helm_release_with_two_revisions_is_ready_and_notes_helms_own_rights(
    helm_release: HelmRelease, rollcheck_kube: Kube, helm: Helm
) -> None:
    helm_release.deploy("v1")
    helm_release.deploy("v2")

    record = _helm_preflight(helm_release, rollcheck_kube, helm)

    assert record.problems == ()
    assert record.to_dict()["ready"] is True
    [note] = record.notes
    assert "the right to patch was not checked" in note
    assert "Secrets" in note
    assert "deploy/rbac.yaml does not grant" in note
