"""The helm client, the Helm release reader and the Helm rollback engine, against the real helm and cluster."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from helm_support import HelmRelease
from helm_support import helm_environment

from localenv_support import REPO_ROOT
from localenv_support import LocalEnv
from rollcheck import ClusterUnavailable
from rollcheck import Conflict
from rollcheck import Forbidden
from rollcheck import NotFound
from rollcheck import RollbackError
from rollcheck.helm import Helm
from rollcheck.helm import read_helm_release
from rollcheck.helm import translate
from rollcheck.kube import Kube
from rollcheck.rollback import HelmRollback
from rollcheck.rollback import engine_for
from rollcheck.target import Release
from rollcheck.target import TargetKind
from rollcheck.target import TargetRef


@pytest.fixture(autouse=True)
def helm_homes(localenv: LocalEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    # rollcheck runs helm with its own environment: give it the homes env.sh gives, as a user's shell would.
    for name, value in helm_environment(localenv).items():
        if name.startswith("HELM_"):
            monkeypatch.setenv(name, value)


@pytest.fixture
def helm(helm_binary: Path, localenv: LocalEnv) -> Helm:
    return Helm(binary=str(helm_binary), kubeconfig=localenv.kubeconfig)


@pytest.fixture
def engine(rollcheck_kube: Kube, helm: Helm) -> HelmRollback:
    return HelmRollback(rollcheck_kube, helm, timeout=60)


def test_the_release_is_read_at_its_helm_revision(helm_release: HelmRelease, helm: Helm, rollcheck_kube: Kube) -> None:
    helm_release.deploy("v1")
    helm_release.deploy("v2")
    target = TargetRef(TargetKind.HELM, helm_release.name)
    release = read_helm_release(helm, rollcheck_kube, target, helm_release.namespace, timeout=30)
    assert (release.target, release.namespace, release.revision) == (target, helm_release.namespace, 2)
    assert (release.images, release.version) == (("rollcheck-demo:v2",), "v2")
    assert release.workloads == (TargetRef(TargetKind.DEPLOYMENT, helm_release.name),)
    assert release.rollout_completed_at is not None


def test_a_workload_declaring_rollback_unsafe_makes_the_release_unsafe(
    helm_release: HelmRelease, helm: Helm, rollcheck_kube: Kube
) -> None:
    helm_release.deploy("v1", rollback="unsafe")
    target = TargetRef(TargetKind.HELM, helm_release.name)
    release = read_helm_release(helm, rollcheck_kube, target, helm_release.namespace, timeout=30)
    assert release.rollback_unsafe is not None
    assert f"deployment/{helm_release.name}" in release.rollback_unsafe


def test_a_dry_run_checks_the_revision_and_changes_nothing(helm_release: HelmRelease, engine: HelmRollback) -> None:
    helm_release.deploy("v1")
    helm_release.deploy("v2")
    plan = engine.plan(*_verified(helm_release, engine))
    assert (plan.from_revision, plan.to_revision, plan.from_version, plan.to_version) == (2, 1, "v2", "v1")
    applied = engine.apply(plan, dry_run=True)
    assert (applied.dry_run, applied.skip_reason) == (True, None)
    assert [entry["revision"] for entry in helm_release.history()] == [1, 2]
    assert helm_release.image() == "rollcheck-demo:v2"


def test_a_previous_revision_with_the_same_manifest_is_already_restored(
    helm_release: HelmRelease, engine: HelmRollback
) -> None:
    helm_release.deploy("v1")
    helm_release.deploy("v1")  # an upgrade that renders the same manifest: nothing to roll back
    plan = engine.plan(*_verified(helm_release, engine))
    assert plan.skip_reason == "skipped rollback (current manifest already matches revision 1)"
    assert engine.apply(plan, dry_run=False).skip_reason == plan.skip_reason
    assert [entry["revision"] for entry in helm_release.history()] == [1, 2]


def test_a_failed_upgrade_is_never_the_revision_restored(helm_release: HelmRelease, engine: HelmRollback) -> None:
    helm_release.deploy("v1")
    helm_release.deploy("v2")
    # A real failed upgrade: --wait on pods that never become Ready (DEMO_HEALTH_FAIL) ends as `failed`.
    failed = subprocess.run(
        [str(helm_release.helm), "upgrade", helm_release.name, str(helm_release.packages["v3"]),
         "--namespace", helm_release.namespace, f"--set=port={helm_release.port}", "--set=healthFail=true",
         "--wait", "--timeout=3s"],
        capture_output=True, text=True, env=helm_environment(helm_release.localenv), timeout=60, check=False,
    )  # fmt: skip
    assert failed.returncode != 0
    helm_release.deploy("v2", errorRate="0.5")
    assert [entry["status"] for entry in helm_release.history()][2:] == ["failed", "deployed"]
    plan = engine.plan(*_verified(helm_release, engine))
    # `helm rollback NAME 0` would restore revision 3, the failed one; rollcheck names revision 2.
    assert (plan.from_revision, plan.to_revision, plan.to_version) == (4, 2, "v2")


def test_a_deploy_between_plan_and_apply_is_not_rolled_back(helm_release: HelmRelease, engine: HelmRollback) -> None:
    helm_release.deploy("v1")
    helm_release.deploy("v2")
    plan = engine.plan(*_verified(helm_release, engine))
    helm_release.deploy("v3")
    applied = engine.apply(plan, dry_run=False)
    assert applied.skip_reason == (
        f"helm release {helm_release.namespace}/{helm_release.name} moved from revision 2 to 3 "
        "after the rollback was planned"
    )
    assert [entry["chart"] for entry in helm_release.history()][-1] == "demo-3.0.0"


def test_rollback_then_wait_restores_the_previous_revision(helm_release: HelmRelease, engine: HelmRollback) -> None:
    helm_release.deploy("v1")
    helm_release.deploy("v2")
    plan = engine.plan(*_verified(helm_release, engine))
    engine.apply(plan, dry_run=False)
    status = engine.wait(plan, timeout=90)
    assert status.done, status.message
    assert status.message == f"revision 3 rolled out: deployment/{helm_release.name}"
    assert helm_release.image() == "rollcheck-demo:v1"


def test_an_image_changed_outside_helm_after_verification_is_not_overwritten(
    helm_release: HelmRelease, engine: HelmRollback
) -> None:
    helm_release.deploy("v1")
    helm_release.deploy("v2")
    verified = _verified(helm_release, engine)
    # `kubectl set image` on the chart's Deployment after the checks: helm's revision does not move.
    helm_release.localenv.run_kubectl(
        "set", "image", f"deployment/{helm_release.name}", "app=rollcheck-demo:v3", "-n", helm_release.namespace
    )
    plan = engine.plan(*verified)
    assert plan.skip_reason == (
        f"helm release {helm_release.namespace}/{helm_release.name} runs rollcheck-demo:v2 → rollcheck-demo:v3 since "
        "it was verified at revision 2: something changed its workloads outside helm (kubectl set image, say), and "
        "helm rollback would overwrite that change"
    )
    applied = engine.apply(plan, dry_run=False)
    assert (applied.skip_reason, applied.frozen_reason) == (plan.skip_reason, None)
    assert [entry["revision"] for entry in helm_release.history()] == [1, 2]
    assert helm_release.image() == "rollcheck-demo:v3"


def test_an_image_changed_outside_helm_between_plan_and_apply_is_not_overwritten(
    helm_release: HelmRelease, engine: HelmRollback
) -> None:
    helm_release.deploy("v1")
    helm_release.deploy("v2")
    plan = engine.plan(*_verified(helm_release, engine))
    assert plan.skip_reason is None
    helm_release.localenv.run_kubectl(
        "set", "image", f"deployment/{helm_release.name}", "app=rollcheck-demo:v3", "-n", helm_release.namespace
    )
    applied = engine.apply(plan, dry_run=False)
    assert applied.skip_reason is not None
    assert "runs rollcheck-demo:v2 → rollcheck-demo:v3 since the rollback was planned" in applied.skip_reason
    assert [entry["revision"] for entry in helm_release.history()] == [1, 2]


def test_an_unsafe_annotation_added_after_the_release_was_read_freezes_the_rollback(
    helm_release: HelmRelease, engine: HelmRollback
) -> None:
    helm_release.deploy("v1")
    helm_release.deploy("v2")
    target, namespace, verified = _verified(helm_release, engine)
    assert verified.rollback_unsafe is None
    # A migration job marks the chart's Deployment during the checks, after the run read the release.
    helm_release.localenv.run_kubectl(
        "annotate", f"deployment/{helm_release.name}", "-n", namespace, "rollcheck.dev/rollback=unsafe",
        "rollcheck.dev/rollback-unsafe-reason=migration 0042",
    )  # fmt: skip
    plan = engine.plan(target, namespace, verified)
    unsafe = (
        f"deployment/{helm_release.name} in {namespace} declares rolling back unsafe (rollcheck.dev/rollback=unsafe; "
        "rollcheck.dev/rollback-unsafe-reason: migration 0042)"
    )
    assert (plan.frozen_reason, plan.skip_reason) == (unsafe, f"frozen, not rolled back: {unsafe}")
    applied = engine.apply(plan, dry_run=False)
    assert (applied.frozen_reason, applied.skip_reason) == (unsafe, plan.skip_reason)
    assert [entry["revision"] for entry in helm_release.history()] == [1, 2]
    assert helm_release.image() == "rollcheck-demo:v2"


def test_a_helm_rollback_stopped_at_its_timeout_is_an_unknown_outcome(
    helm_release: HelmRelease, helm_binary: Path, rollcheck_kube: Kube, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helm_release.deploy("v1")
    helm_release.deploy("v2")
    # A helm that outlives its own --timeout cannot be made on demand, so the helm executable (rollcheck's
    # --helm seam) is a wrapper: every command is the real helm, and `rollback` is the real rollback followed by
    # a hang, so rollcheck has to stop helm after the rollback was in fact applied.
    wrapper = tmp_path / "helm"
    wrapper.write_text(f'#!/bin/sh\n"{helm_binary}" "$@" || exit $?\nif [ "$1" = rollback ]; then exec sleep 60; fi\n')
    wrapper.chmod(0o755)
    monkeypatch.setattr("rollcheck.helm._client._ROLLBACK_SLACK", 1.0)  # helm gets timeout + 1 s, not + 30 s
    engine = HelmRollback(
        rollcheck_kube, Helm(binary=str(wrapper), kubeconfig=helm_release.localenv.kubeconfig), timeout=2
    )
    plan = engine.plan(*_verified(helm_release, engine))
    with pytest.raises(RollbackError) as raised:
        engine.apply(plan, dry_run=False)
    assert str(raised.value) == (
        f"helm rollback of helm release {helm_release.namespace}/{helm_release.name} to revision 1 did not finish its "
        "conversation with the cluster, so whether it was applied is unknown; check `helm history` (helm rollback "
        f"{helm_release.namespace}/{helm_release.name} 1: helm did not finish within 3s and was stopped)"
    )
    # Not a failure to claim: helm had written revision 3, the rollback to 1.
    assert [entry["description"] for entry in helm_release.history()][-1] == "Rollback to 1"


def test_engine_for_a_helm_target_needs_the_helm_cli(rollcheck_kube: Kube, helm: Helm) -> None:
    assert isinstance(engine_for(TargetKind.HELM, rollcheck_kube, helm=helm), HelmRollback)
    with pytest.raises(ValueError, match="needs the helm CLI"):
        engine_for(TargetKind.HELM, rollcheck_kube)


def test_a_release_that_does_not_exist_is_not_found(helm: Helm, namespace: str) -> None:
    with pytest.raises(NotFound, match=rf"helm status {namespace}/absent: 404 Not Found: release: not found"):
        helm.status("absent", namespace)


def test_an_unknown_revision_is_a_rollback_error(helm_release: HelmRelease, helm: Helm) -> None:
    helm_release.deploy("v1")
    with pytest.raises(RollbackError, match=r"helm rollback .*/demo-\w+ 7: release has no 7 version$"):
        helm.rollback(helm_release.name, helm_release.namespace, 7, dry_run=False, timeout=30)


def test_an_unknown_context_is_cluster_unavailable(helm_binary: Path, localenv: LocalEnv) -> None:
    helm = Helm(binary=str(helm_binary), kubeconfig=localenv.kubeconfig, context="no-such-context")
    with pytest.raises(ClusterUnavailable, match=r"cluster unreachable: context \"no-such-context\" does not exist"):
        helm.history("shop", "default")


def test_an_identity_without_rights_is_forbidden(helm_binary: Path, localenv: LocalEnv, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "nobody.kubeconfig"
    subprocess.run(
        [REPO_ROOT / "scripts" / "localenv", "identity", "rollcheck-helm-nobody", "--output", kubeconfig],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    helm = Helm(binary=str(helm_binary), kubeconfig=kubeconfig)
    with pytest.raises(Forbidden, match=r"403 Forbidden: .*forbidden"):
        helm.status("shop", "default")


def test_another_operation_in_progress_is_a_conflict() -> None:
    # helm's lock on a release (a pending-* revision) cannot be held open on demand, so its message is fed in
    # at rollcheck's own seam; the text is helm v3's errPending.
    stderr = "Error: another operation (install/upgrade/rollback) is in progress\n"
    error = translate(stderr, "helm rollback prod/shop 3", RollbackError)
    assert isinstance(error, Conflict)
    assert str(error) == (
        "helm rollback prod/shop 3: 409 Conflict: another operation (install/upgrade/rollback) is in progress"
    )


def _verified(release: HelmRelease, engine: HelmRollback) -> tuple[TargetRef, str, Release]:
    """plan's arguments: the target, its namespace, and the release as read now (the verified one)."""
    target = TargetRef(TargetKind.HELM, release.name)
    return target, release.namespace, read_helm_release(engine.helm, engine.kube, target, release.namespace, timeout=30)
