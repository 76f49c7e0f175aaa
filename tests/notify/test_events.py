"""Kubernetes Events on the real local cluster: read back through the API, shown by `kubectl describe`, and a
denied create (403) recorded like a failed notification."""

from __future__ import annotations

import datetime
import subprocess
import uuid
from pathlib import Path

import pytest
from kubernetes import client
from notify_support import failed_run

from localenv_support import REPO_ROOT
from localenv_support import LocalEnv
from localenv_support import Releases
from rollcheck.notify import notify
from rollcheck.record import RollbackAction
from rollcheck.record import RunRecord
from rollcheck.settings import Settings
from rollcheck.target import TargetRef


@pytest.fixture
def deployment(releases: Releases, request: pytest.FixtureRequest) -> str:
    name = f"ev-{request.node.name.removeprefix('test_')[:20].replace('_', '-').rstrip('-')}"
    releases.deploy(name, "v1", replicas=1)
    return name


def _run(releases: Releases, name: str, action: RollbackAction) -> RunRecord:
    # Each run starts at its own moment, so each gets its own Event.
    return failed_run(
        action,
        target=f"deployment/{name}",
        namespace=releases.namespace,
        started_at=datetime.datetime.now(datetime.UTC),
    )


def _settings(releases: Releases, name: str, kubeconfig: Path) -> Settings:
    return Settings(target=TargetRef.parse(f"deployment/{name}"), namespace=releases.namespace, kubeconfig=kubeconfig)


def _events(kube_api: client.ApiClient, namespace: str, name: str) -> list[client.CoreV1Event]:
    core = client.CoreV1Api(kube_api)
    found = core.list_namespaced_event(
        namespace, field_selector=f"involvedObject.name={name},reason!=ScalingReplicaSet"
    )
    return list(found.items)


def test_a_rollback_creates_an_event_on_the_deployment(
    releases: Releases, localenv: LocalEnv, kube_api: client.ApiClient, deployment: str
) -> None:
    record = notify(
        _run(releases, deployment, RollbackAction.ROLLED_BACK), _settings(releases, deployment, localenv.kubeconfig)
    )

    assert [(n.sink, n.delivered, n.attempts, n.error) for n in record.notifications] == [
        ("kubernetes-event", True, 1, None)
    ]
    [event] = _events(kube_api, releases.namespace, deployment)
    uid = releases.apps.read_namespaced_deployment(deployment, releases.namespace).metadata.uid
    involved = event.involved_object
    assert (involved.kind, involved.name, involved.namespace, involved.uid) == (
        "Deployment", deployment, releases.namespace, uid,
    )  # fmt: skip
    assert (event.reason, event.type, event.reporting_component) == ("RollcheckRollback", "Normal", "rollcheck")
    assert event.message.startswith("rolled back v2 → v1: 1 gating check(s) failed")
    assert "health recovered: yes" in event.message

    described = localenv.run_kubectl("describe", "deployment", deployment, "-n", releases.namespace).stdout
    [line] = [line for line in described.splitlines() if "RollcheckRollback" in line]
    assert line.split()[:2] == ["Normal", "RollcheckRollback"]
    assert "rollcheck" in line
    assert "rolled back v2 → v1" in line


def test_failed_and_skipped_rollbacks_have_their_own_reasons(
    releases: Releases, localenv: LocalEnv, kube_api: client.ApiClient, deployment: str
) -> None:
    settings = _settings(releases, deployment, localenv.kubeconfig)
    for action in (RollbackAction.FAILED, RollbackAction.SKIPPED, RollbackAction.DRY_RUN):
        [outcome] = notify(_run(releases, deployment, action), settings).notifications
        assert outcome.delivered, outcome.error
    found = sorted((event.reason, event.type) for event in _events(kube_api, releases.namespace, deployment))
    assert found == [
        ("RollcheckRollbackFailed", "Warning"),
        ("RollcheckRollbackSkipped", "Normal"),
        ("RollcheckRollbackSkipped", "Warning"),
    ]


def test_notifying_the_same_run_twice_keeps_one_event(
    releases: Releases, localenv: LocalEnv, kube_api: client.ApiClient, deployment: str
) -> None:
    run = _run(releases, deployment, RollbackAction.ROLLED_BACK)
    settings = _settings(releases, deployment, localenv.kubeconfig)
    first, second = notify(run, settings), notify(run, settings)
    assert first.notifications[0].delivered
    assert second.notifications[0].delivered, "409 AlreadyExists: the Event is there"
    assert len(_events(kube_api, releases.namespace, deployment)) == 1


def test_a_forbidden_event_is_recorded_like_a_failed_notification(
    releases: Releases, kube_api: client.ApiClient, deployment: str
) -> None:
    user = f"no-events-{uuid.uuid4().hex[:6]}"
    rbac = client.RbacAuthorizationV1Api(kube_api)
    rbac.create_namespaced_role(
        releases.namespace,
        {
            "metadata": {"name": "deployment-reader"},
            "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}],
        },
    )
    rbac.create_namespaced_role_binding(
        releases.namespace,
        {
            "metadata": {"name": "deployment-reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployment-reader"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        },
    )
    identity = subprocess.run(
        [str(REPO_ROOT / "scripts" / "localenv"), "identity", user], capture_output=True, text=True, check=True
    )
    kubeconfig = Path(identity.stdout.strip())

    record = notify(_run(releases, deployment, RollbackAction.ROLLED_BACK), _settings(releases, deployment, kubeconfig))

    [outcome] = record.notifications
    assert (outcome.sink, outcome.delivered, outcome.attempts) == ("kubernetes-event", False, 1)
    assert outcome.error is not None
    assert "403 Forbidden" in outcome.error
    assert f'User "{user}" cannot create resource "events"' in outcome.error
    assert _events(kube_api, releases.namespace, deployment) == []


def test_a_helm_target_gets_no_event_and_says_why(releases: Releases, localenv: LocalEnv) -> None:
    settings = Settings(
        target=TargetRef.parse("helm/shop"), namespace=releases.namespace, kubeconfig=localenv.kubeconfig
    )
    [outcome] = notify(_run(releases, "shop", RollbackAction.ROLLED_BACK), settings).notifications
    assert (outcome.sink, outcome.delivered, outcome.attempts) == ("kubernetes-event", False, 0)
    assert outcome.error == "not created: helm/shop is not one Kubernetes object to put an Event on (see the README)"
