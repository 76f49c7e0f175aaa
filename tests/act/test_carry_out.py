"""carry_out on the real cluster: every way a needed rollback can end, each recorded, none raising."""

from __future__ import annotations

import contextlib
import dataclasses
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

from kubernetes import client

from localenv_support import REPO_ROOT
from localenv_support import LocalEnv
from localenv_support import Releases
from rollcheck.act import INTERRUPTED_ERROR
from rollcheck.act import PENDING_ERROR
from rollcheck.act import SessionConnection
from rollcheck.act import carry_out
from rollcheck.decide import decide
from rollcheck.kube import connect
from rollcheck.kube import read_release
from rollcheck.record import RollbackAction
from rollcheck.record import RollbackRecord
from rollcheck.record import Verdict
from rollcheck.settings import Settings
from rollcheck.target import Release
from rollcheck.target import TargetRef


def _settings(localenv: LocalEnv, releases: Releases, name: str, **overrides: object) -> Settings:
    base = Settings(
        target=TargetRef.parse(f"deployment/{name}"),
        namespace=releases.namespace,
        kubeconfig=localenv.kubeconfig,
        rollout_timeout=60,
    )
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


def _deploy_two_revisions(releases: Releases, name: str) -> None:
    releases.deploy(name, "v1", replicas=1)
    releases.wait_rollout(name)
    releases.set_release(name, "v2")
    releases.wait_rollout(name)


def _verified(settings: Settings) -> Release:
    assert settings.target is not None
    with connect(kubeconfig=settings.kubeconfig, context=None) as kube:
        return read_release(kube, settings.target, settings.namespace)


def _image(releases: Releases, name: str) -> str:
    deployment = releases.apps.read_namespaced_deployment(name, releases.namespace)
    return str(deployment.spec.template.spec.containers[0].image)


def _recovered(settings: Settings) -> tuple[bool, str]:
    return True, "checked"


def test_rollback_records_versions_timings_and_recovery(releases: Releases, localenv: LocalEnv) -> None:
    _deploy_two_revisions(releases, "fine")
    settings = _settings(localenv, releases, "fine")
    record = carry_out(
        decide(Verdict.FAILED, "bad", settings), _verified(settings), settings, recovery_check=_recovered
    )
    assert (record.action, record.from_version, record.to_version) == (RollbackAction.ROLLED_BACK, "v2", "v1")
    assert (record.from_revision, record.to_revision, record.recovered, record.error) == (2, 1, True, None)
    assert record.started_at is not None
    assert record.issued_at is not None
    assert record.finished_at is not None
    assert record.started_at <= record.issued_at <= record.finished_at
    assert _image(releases, "fine") == "rollcheck-demo:v1"
    annotations = releases.apps.read_namespaced_deployment("fine", releases.namespace).metadata.annotations
    assert "bad" in annotations["rollcheck.dev/rollback-reason"]


def test_dry_run_changes_nothing(releases: Releases, localenv: LocalEnv) -> None:
    _deploy_two_revisions(releases, "dry")
    settings = _settings(localenv, releases, "dry", dry_run=True)
    record = carry_out(
        decide(Verdict.FAILED, "bad", settings), _verified(settings), settings, recovery_check=_recovered
    )
    assert (record.action, record.to_version) == (RollbackAction.DRY_RUN, "v1")
    assert _image(releases, "dry") == "rollcheck-demo:v2"


def test_newer_deploy_after_verification_is_never_overwritten(releases: Releases, localenv: LocalEnv) -> None:
    _deploy_two_revisions(releases, "newer")
    settings = _settings(localenv, releases, "newer")
    verified = _verified(settings)
    releases.set_release("newer", "v3")  # someone deploys while rollcheck judges v2
    record = carry_out(decide(Verdict.FAILED, "bad", settings), verified, settings, recovery_check=_recovered)
    assert record.action is RollbackAction.SKIPPED
    assert "deployed after" in record.reason
    assert _image(releases, "newer") == "rollcheck-demo:v3"


def test_declared_unsafe_after_verification_is_recorded_as_frozen(releases: Releases, localenv: LocalEnv) -> None:
    _deploy_two_revisions(releases, "migrated")
    settings = _settings(localenv, releases, "migrated")
    verified = _verified(settings)
    assert not verified.rollback_unsafe
    # A migration job marks the release while the checks run, after rollcheck read it.
    unsafe = {"rollcheck.dev/rollback": "unsafe", "rollcheck.dev/rollback-unsafe-reason": "schema v5 migrated"}
    releases.apps.patch_namespaced_deployment("migrated", releases.namespace, {"metadata": {"annotations": unsafe}})
    record = carry_out(decide(Verdict.FAILED, "bad", settings), verified, settings, recovery_check=_recovered)
    assert record.action is RollbackAction.FROZEN
    assert "schema v5 migrated" in record.reason
    assert record.issued_at is None
    assert _image(releases, "migrated") == "rollcheck-demo:v2"


def test_paused_deployment_fails_with_kubectls_message(releases: Releases, localenv: LocalEnv) -> None:
    _deploy_two_revisions(releases, "paused")
    releases.apps.patch_namespaced_deployment("paused", releases.namespace, {"spec": {"paused": True}})
    settings = _settings(localenv, releases, "paused")
    record = carry_out(
        decide(Verdict.FAILED, "bad", settings), _verified(settings), settings, recovery_check=_recovered
    )
    assert record.action is RollbackAction.FAILED
    assert record.error is not None
    assert "you cannot rollback a paused deployment" in record.error
    assert _image(releases, "paused") == "rollcheck-demo:v2"


def test_health_not_recovering_is_recorded(releases: Releases, localenv: LocalEnv) -> None:
    _deploy_two_revisions(releases, "sick")
    settings = _settings(localenv, releases, "sick")

    def still_sick(settings: Settings) -> tuple[bool, str]:
        return False, "/health answered 503 three times"

    record = carry_out(
        decide(Verdict.FAILED, "bad", settings), _verified(settings), settings, recovery_check=still_sick
    )
    assert (record.action, record.recovered) == (RollbackAction.ROLLED_BACK, False)
    assert record.error is not None
    assert "/health answered 503" in record.error


def test_forbidden_patch_is_a_failed_rollback_naming_the_verb(
    releases: Releases, localenv: LocalEnv, kube_api: client.ApiClient
) -> None:
    _deploy_two_revisions(releases, "denied")
    user = f"viewer-{uuid.uuid4().hex[:6]}"
    rbac = client.RbacAuthorizationV1Api(kube_api)
    # Everything rollcheck reads, but no patch.
    rules = [
        {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
    ]
    rbac.create_namespaced_role(releases.namespace, {"metadata": {"name": user}, "rules": rules})
    rbac.create_namespaced_role_binding(
        releases.namespace,
        {
            "metadata": {"name": user},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": user},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        },
    )
    identity = subprocess.run(
        [str(REPO_ROOT / "scripts" / "localenv"), "identity", user], capture_output=True, text=True, check=True
    )
    settings = _settings(localenv, releases, "denied", kubeconfig=Path(identity.stdout.strip()))
    record = carry_out(
        decide(Verdict.FAILED, "bad", settings), _verified(settings), settings, recovery_check=_recovered
    )
    assert record.action is RollbackAction.FAILED
    assert record.error is not None
    assert "403" in record.error
    assert "patch" in record.error
    assert _image(releases, "denied") == "rollcheck-demo:v2"


def test_before_apply_gets_the_pending_record_before_the_patch_is_sent(releases: Releases, localenv: LocalEnv) -> None:
    _deploy_two_revisions(releases, "pending")
    settings = _settings(localenv, releases, "pending")
    seen: list[tuple[RollbackRecord, str]] = []

    def before_apply(pending: RollbackRecord) -> None:
        seen.append((pending, _image(releases, "pending")))

    record = carry_out(
        decide(Verdict.FAILED, "bad", settings),
        _verified(settings),
        settings,
        recovery_check=_recovered,
        before_apply=before_apply,
    )
    [(pending, image_then)] = seen
    assert image_then == "rollcheck-demo:v2", "before_apply ran after the patch"
    assert (pending.action, pending.error, pending.issued_at) == (RollbackAction.ROLLED_BACK, PENDING_ERROR, None)
    assert (pending.from_version, pending.to_version, pending.to_revision) == ("v2", "v1", 1)
    assert (record.action, record.error, record.recovered) == (RollbackAction.ROLLED_BACK, None, True)


def test_before_apply_is_not_called_for_a_dry_run(releases: Releases, localenv: LocalEnv) -> None:
    _deploy_two_revisions(releases, "pending-dry")
    settings = _settings(localenv, releases, "pending-dry", dry_run=True)
    seen: list[RollbackRecord] = []
    record = carry_out(
        decide(Verdict.FAILED, "bad", settings),
        _verified(settings),
        settings,
        recovery_check=_recovered,
        before_apply=seen.append,
    )
    assert record.action is RollbackAction.DRY_RUN
    assert seen == []


def test_a_broken_before_apply_does_not_stop_the_rollback(releases: Releases, localenv: LocalEnv) -> None:
    _deploy_two_revisions(releases, "pending-broken")
    settings = _settings(localenv, releases, "pending-broken")

    def broken(pending: RollbackRecord) -> None:
        raise RuntimeError("the report directory's disk is full")

    record = carry_out(
        decide(Verdict.FAILED, "bad", settings),
        _verified(settings),
        settings,
        recovery_check=_recovered,
        before_apply=broken,
    )
    assert (record.action, record.recovered) == (RollbackAction.ROLLED_BACK, True)
    assert _image(releases, "pending-broken") == "rollcheck-demo:v1"


def test_an_interrupted_wait_records_an_issued_rollback_of_unknown_outcome(
    releases: Releases, localenv: LocalEnv
) -> None:
    _deploy_two_revisions(releases, "cut-short")
    settings = _settings(localenv, releases, "cut-short")
    rechecked: list[Settings] = []

    @contextlib.contextmanager
    def sigterm_already_noted() -> Iterator[None]:
        # The contract of `interruptible`: the caller raises KeyboardInterrupt inside it. This is what the plugin's
        # SIGTERM handling does when the signal arrived while the patch was being sent (a real SIGTERM in the
        # middle of the wait is tested end to end in tests/plugin/test_interrupted_rollback.py).
        raise KeyboardInterrupt("SIGTERM")
        yield

    def recheck(settings: Settings) -> tuple[bool, str]:
        rechecked.append(settings)
        return True, "checked"

    record = carry_out(
        decide(Verdict.FAILED, "bad", settings),
        _verified(settings),
        settings,
        recovery_check=recheck,
        interruptible=sigterm_already_noted,
    )
    assert (record.action, record.recovered, record.error) == (RollbackAction.ROLLED_BACK, None, INTERRUPTED_ERROR)
    assert record.issued_at is not None
    assert record.finished_at is not None
    assert rechecked == []
    assert _image(releases, "cut-short") == "rollcheck-demo:v1", "the rollback itself was sent"


def test_the_sessions_connection_is_used_and_left_open(releases: Releases, localenv: LocalEnv, tmp_path: Path) -> None:
    _deploy_two_revisions(releases, "warm")
    settings = _settings(localenv, releases, "warm")
    verified = _verified(settings)
    # Credentials carry_out could not load itself: only the connection it is given can roll back.
    unloadable = dataclasses.replace(settings, kubeconfig=tmp_path / "absent")
    connection = SessionConnection(settings)
    try:
        kube = connection.open()
        record = carry_out(
            decide(Verdict.FAILED, "bad", unloadable), verified, unloadable, recovery_check=_recovered, kube=kube
        )
        assert (record.action, record.error) == (RollbackAction.ROLLED_BACK, None)
        assert _image(releases, "warm") == "rollcheck-demo:v1"
        # Closing would have emptied the connection pool; the caller's connection still holds its warm one.
        assert len(kube.api.rest_client.pool_manager.pools) == 1
        assert connection.kube is kube
    finally:
        connection.close()


def test_without_a_connection_carry_out_connects_and_names_bad_credentials(
    releases: Releases, localenv: LocalEnv, tmp_path: Path
) -> None:
    _deploy_two_revisions(releases, "cold")
    settings = _settings(localenv, releases, "cold")
    verified = _verified(settings)
    unloadable = dataclasses.replace(settings, kubeconfig=tmp_path / "absent")
    record = carry_out(decide(Verdict.FAILED, "bad", unloadable), verified, unloadable, recovery_check=_recovered)
    assert record.action is RollbackAction.FAILED
    assert record.error == f"kubeconfig {tmp_path / 'absent'} does not exist"
    assert _image(releases, "cold") == "rollcheck-demo:v2"
