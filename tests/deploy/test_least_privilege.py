"""A real rollback with only deploy/rbac.yaml's rights, and a clear 403 for anything outside them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes import config as kube_config

from localenv_support import LocalEnv
from localenv_support import Releases
from restricted_runs import run_as
from revisioned_workloads import KINDS
from revisioned_workloads import Workloads
from rollcheck import ExitCode
from rollcheck.kube import Kube
from rollcheck.target import TargetKind
from rollcheck.target import TargetRef


@pytest.fixture
def other_namespace(kube_api: client.ApiClient) -> Iterator[str]:
    """A namespace where the restricted identity has no binding at all."""
    name = f"t-unbound-{uuid.uuid4().hex[:6]}"
    core = client.CoreV1Api(kube_api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name, propagation_policy="Background")


def test_rollback_succeeds_with_only_the_role(
    releases: Releases, rollcheck_identity: Path, kube_api: client.ApiClient, tmp_path: Path
) -> None:
    releases.deploy("shop", "v1", replicas=1)
    releases.wait_rollout("shop")
    releases.set_release("shop", "v2")
    releases.wait_rollout("shop")

    run, marker = run_as(rollcheck_identity, "deployment/shop", releases.namespace, tmp_path, check_passes=False)

    output = run.stdout[-3000:] + run.stderr[-2000:]
    assert run.returncode == ExitCode.FAILED, output
    assert marker.read_text() == "ran"
    report = run.report
    assert report["preflight"]["ready"] is True, report["preflight"]
    rollback = report["rollback"]
    assert (rollback["action"], rollback["from_version"], rollback["to_version"]) == ("rolled_back", "v2", "v1")
    assert rollback["recovered"] is True
    assert rollback["error"] is None
    deployment = releases.apps.read_namespaced_deployment("shop", releases.namespace)
    assert deployment.spec.template.spec.containers[0].image == "rollcheck-demo:v1"
    # The Event rollcheck leaves on the workload is created with the Role's one `create` right.
    events = client.CoreV1Api(kube_api).list_namespaced_event(
        releases.namespace, field_selector="involvedObject.name=shop,reason=RollcheckRollback"
    )
    assert len(events.items) == 1, [n for n in report.get("notifications", [])]


@pytest.mark.parametrize("kind", KINDS)
def test_a_controller_revision_rollback_succeeds_with_only_the_role(
    kind: TargetKind, rollcheck_kube: Kube, localenv: LocalEnv, namespace: str, rollcheck_identity: Path, tmp_path: Path
) -> None:
    # The StatefulSet and DaemonSet engines read ControllerRevisions, patch with a strategic merge patch and
    # follow their own rollout status: all of it, and preflight and the Event, within the Role's verbs.
    workloads = Workloads(rollcheck_kube, namespace, localenv)
    target = TargetRef(kind, f"least-{kind.value[:3]}")
    workloads.deploy(target, "v1", "v2", replicas=1)

    run, marker = run_as(rollcheck_identity, str(target), namespace, tmp_path, check_passes=False)

    assert run.returncode == ExitCode.FAILED, run.stdout[-3000:] + run.stderr[-2000:]
    assert marker.read_text() == "ran"
    report = run.report
    assert report["preflight"]["ready"] is True, report["preflight"]
    rollback = report["rollback"]
    assert (rollback["action"], rollback["from_version"], rollback["to_version"]) == ("rolled_back", "v2", "v1")
    assert (rollback["recovered"], rollback["error"]) == (True, None)
    assert workloads.image(target) == "rollcheck-demo:v1"
    events = rollcheck_kube.list_raw(
        "event", namespace, field_selector=f"involvedObject.name={target.name},reason=RollcheckRollback"
    )
    assert len(events) == 1, report.get("notifications")


def test_outside_the_role_is_forbidden_and_reported(
    releases: Releases,
    rollcheck_identity: Path,
    kube_api: client.ApiClient,
    localenv: LocalEnv,
    other_namespace: str,
    tmp_path: Path,
) -> None:
    elsewhere = Releases(kube_api, other_namespace, localenv)
    elsewhere.deploy("shop", "v1", replicas=1)
    elsewhere.wait_rollout("shop")

    run, marker = run_as(rollcheck_identity, "deployment/shop", other_namespace, tmp_path)

    # Forbidden from reading the release: nothing can be judged, so nothing is rolled back (README: exit 7).
    assert run.returncode == ExitCode.INCONCLUSIVE, run.stdout[-3000:] + run.stderr[-2000:]
    report = run.report
    assert report["rollback"]["action"] == "not_needed"
    assert "403 Forbidden" in report["reason"]
    assert (
        f'cannot list resource "deployments" in API group "apps" in the namespace "{other_namespace}"'
        in (report["reason"])
    )
    assert "403 Forbidden" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    assert marker.read_text() == "ran"  # checks still run; their verdict cannot stand without the release

    # The same identity, straight at the API: what the Role leaves out is refused.
    restricted = kube_config.new_client_from_config(config_file=str(rollcheck_identity))
    apps, core = client.AppsV1Api(restricted), client.CoreV1Api(restricted)
    own = releases.namespace
    releases.deploy("kept", "v1", replicas=1)
    refused = {
        "delete deployments": lambda: apps.delete_namespaced_deployment("kept", own),
        "update deployments": lambda: apps.replace_namespaced_deployment(
            "kept", own, apps.read_namespaced_deployment("kept", own)
        ),
        "list secrets": lambda: core.list_namespaced_secret(own),
        "get configmaps": lambda: core.read_namespaced_config_map("kube-root-ca.crt", own),
        "create pods": lambda: core.create_namespaced_pod(
            own, {"metadata": {"name": "x"}, "spec": {"containers": [{"name": "x", "image": "rollcheck-demo:v1"}]}}
        ),
    }
    for action, call in refused.items():
        verb, resource = action.split()
        with pytest.raises(client.ApiException) as denied:
            call()
        assert denied.value.status == 403, action
        assert f'cannot {verb} resource "{resource}"' in json.loads(denied.value.body)["message"], action
    restricted.close()
