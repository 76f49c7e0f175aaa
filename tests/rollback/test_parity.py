"""rollcheck's Deployment rollback against `kubectl rollout undo`, on twin Deployments with identical histories.

After rollcheck rolls back one twin and kubectl the other, both must hold the same pod template and the same
annotations (rollcheck's own `rollcheck.dev/` markers aside), the same revision, and have re-used the restored
ReplicaSet instead of creating a new one.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from kubernetes import client

from localenv_support import LocalEnv
from localenv_support import demo_deployment
from localenv_support import eventually
from rollcheck import RollbackImpossible
from rollcheck.kube import Kube
from rollcheck.kube import read_release
from rollcheck.rollback import MARKER_PREFIX
from rollcheck.rollback import ROLLED_BACK_FROM
from rollcheck.rollback import engine_for
from rollcheck.target import TargetKind
from rollcheck.target import TargetRef

REVISION = "deployment.kubernetes.io/revision"
CAUSE = "kubernetes.io/change-cause"


class Twins:
    """Two Deployments, `<name>-rc` (rolled back by rollcheck) and `<name>-kc` (by kubectl), built alike."""

    def __init__(self, name: str, namespace: str, kube: Kube, api: client.ApiClient, localenv: LocalEnv) -> None:
        self.names = (f"{name}-rc", f"{name}-kc")
        self.namespace = namespace
        self.kube = kube
        self.apps = client.AppsV1Api(api)
        self.localenv = localenv

    def build(self, *versions: str) -> None:
        """Deploy each version in turn (a new revision each), changing the change-cause with it."""
        for name in self.names:
            first = demo_deployment(name, versions[0], replicas=2, annotations={CAUSE: f"deploy {versions[0]}"})
            first["metadata"]["annotations"]["example.com/owner"] = "team-web"
            self.apps.create_namespaced_deployment(self.namespace, first)
        self.wait(revision=1)
        for number, version in enumerate(versions[1:], start=2):
            annotations = {CAUSE: f"deploy {version}"}
            if number == 3:
                annotations["example.com/only-in-3"] = "yes"
            for name in self.names:
                patch = {
                    "metadata": {"annotations": annotations},
                    "spec": {
                        "template": {"spec": {"containers": [{"name": "app", "image": f"rollcheck-demo:{version}"}]}}
                    },
                }
                self.apps.patch_namespaced_deployment(name, self.namespace, patch)
            self.wait(revision=number)

    def wait(self, *, revision: int) -> None:
        """Until both twins are at `revision` and completely rolled out."""
        for name in self.names:
            eventually(
                lambda name=name: self.settled(name, revision), timeout=90, what=f"{name} at revision {revision}"
            )

    def settled(self, name: str, revision: int) -> bool:
        obj = self.get(name)
        status = obj.get("status") or {}
        return (
            obj["metadata"]["annotations"].get(REVISION) == str(revision)
            and status.get("observedGeneration") == obj["metadata"]["generation"]
            and status.get("updatedReplicas") == status.get("replicas") == status.get("availableReplicas") == 2
        )

    def get(self, name: str) -> dict[str, Any]:
        return self.kube.get_raw("deployment", name, self.namespace)

    def replica_sets(self, name: str) -> dict[str, str]:
        """uid → revision of the twin's ReplicaSets."""
        return {
            rs["metadata"]["uid"]: rs["metadata"]["annotations"][REVISION]
            for rs in self.kube.list_raw("replicaset", self.namespace, f"app={name}")
        }

    def rollcheck_undo(self, reason: str = "parity") -> Any:
        target = TargetRef(TargetKind.DEPLOYMENT, self.names[0])
        engine = engine_for(TargetKind.DEPLOYMENT, self.kube)
        verified = read_release(self.kube, target, self.namespace)
        plan = engine.plan(target, self.namespace, verified, reason=reason)
        applied = engine.apply(plan, dry_run=False)
        assert applied.skip_reason is None
        assert engine.wait(plan, timeout=90).done
        return plan

    def kubectl_undo(self) -> str:
        result = self.localenv.run_kubectl("rollout", "undo", f"deployment/{self.names[1]}", "-n", self.namespace)
        return result.stdout.strip()

    def comparable(self, name: str) -> tuple[dict[str, Any], dict[str, str]]:
        """The template with the twin's own label value neutralised, and the annotations without markers."""
        obj = self.get(name)
        template = copy.deepcopy(obj["spec"]["template"])
        template["metadata"]["labels"]["app"] = "twin"
        annotations = {k: v for k, v in obj["metadata"]["annotations"].items() if not k.startswith(MARKER_PREFIX)}
        return template, annotations


@pytest.fixture
def twins(
    request: pytest.FixtureRequest, namespace: str, rollcheck_kube: Kube, kube_api: client.ApiClient, localenv: LocalEnv
) -> Twins:
    return Twins(
        request.node.name.removeprefix("test_").replace("_", "-")[:30], namespace, rollcheck_kube, kube_api, localenv
    )


def test_rollback_matches_kubectl_rollout_undo(twins: Twins) -> None:
    twins.build("v1", "v2", "v3")
    ours, theirs = twins.names
    sets_before = (twins.replica_sets(ours), twins.replica_sets(theirs))

    plan = twins.rollcheck_undo(reason="error rate 7% > 1%")
    assert twins.kubectl_undo() == f"deployment.apps/{theirs} rolled back"
    twins.wait(revision=4)

    assert (plan.from_revision, plan.to_revision, plan.from_version, plan.to_version) == (3, 2, "v3", "v2")
    assert twins.comparable(ours) == twins.comparable(theirs)
    template, annotations = twins.comparable(ours)
    assert template["spec"]["containers"][0]["image"] == "rollcheck-demo:v2"
    assert annotations[CAUSE] == "deploy v2"
    assert annotations[REVISION] == "4"
    assert annotations["example.com/owner"] == "team-web"
    assert "example.com/only-in-3" not in annotations
    assert twins.get(ours)["metadata"]["annotations"][ROLLED_BACK_FROM] == "revision 3 (v3)"
    # The restored ReplicaSet was re-used and renumbered: same ReplicaSets, revision 2 became 4.
    for name, before in zip(twins.names, sets_before, strict=True):
        after = twins.replica_sets(name)
        assert after.keys() == before.keys()
        assert sorted(after.values()) == ["1", "3", "4"]
        assert [uid for uid, rev in before.items() if rev == "2"] == [uid for uid, rev in after.items() if rev == "4"]


def test_rolling_back_twice_toggles_like_kubectl(twins: Twins) -> None:
    twins.build("v1", "v2", "v3")
    ours, theirs = twins.names

    first = twins.rollcheck_undo()
    twins.kubectl_undo()
    twins.wait(revision=4)
    second = twins.rollcheck_undo()
    twins.kubectl_undo()
    twins.wait(revision=5)

    assert (first.to_version, second.to_version) == ("v2", "v3")
    assert (second.from_revision, second.to_revision) == (4, 3)
    assert twins.comparable(ours) == twins.comparable(theirs)
    assert twins.comparable(ours)[1][CAUSE] == "deploy v3"
    assert sorted(twins.replica_sets(ours).values()) == sorted(twins.replica_sets(theirs).values()) == ["1", "4", "5"]


def test_a_paused_deployment_is_refused_with_kubectls_message(twins: Twins) -> None:
    twins.build("v1", "v2")
    ours, theirs = twins.names
    for name in twins.names:
        twins.apps.patch_namespaced_deployment(name, twins.namespace, {"spec": {"paused": True}})
    target = TargetRef(TargetKind.DEPLOYMENT, ours)
    verified = read_release(twins.kube, target, twins.namespace)

    kubectl = twins.localenv.run_kubectl("rollout", "undo", f"deployment/{theirs}", "-n", twins.namespace, check=False)
    with pytest.raises(RollbackImpossible) as refused:
        engine_for(TargetKind.DEPLOYMENT, twins.kube).plan(target, twins.namespace, verified)

    assert kubectl.returncode != 0
    assert str(refused.value) in kubectl.stderr
    assert "you cannot rollback a paused deployment" in str(refused.value)


def test_without_history_both_refuse(twins: Twins) -> None:
    twins.build("v1")
    ours, theirs = twins.names
    target = TargetRef(TargetKind.DEPLOYMENT, ours)
    verified = read_release(twins.kube, target, twins.namespace)

    kubectl = twins.localenv.run_kubectl("rollout", "undo", f"deployment/{theirs}", "-n", twins.namespace, check=False)
    with pytest.raises(RollbackImpossible) as refused:
        engine_for(TargetKind.DEPLOYMENT, twins.kube).plan(target, twins.namespace, verified)

    assert kubectl.returncode != 0
    assert f'no rollout history found for deployment "{theirs}"' in kubectl.stderr
    assert str(refused.value) == f'no rollout history found for deployment "{ours}"'
