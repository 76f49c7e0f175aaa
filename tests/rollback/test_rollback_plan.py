"""Planning a Deployment rollback against a verified release, on a fake Kube (no cluster): the guard rules,
the skip when already there, and the patch."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from rollcheck import ConfigError
from rollcheck import RollbackImpossible
from rollcheck.helm import Helm
from rollcheck.rollback import PAUSED_MESSAGE
from rollcheck.rollback import DaemonSetRollback
from rollcheck.rollback import DeploymentRollback
from rollcheck.rollback import HelmRollback
from rollcheck.rollback import StatefulSetRollback
from rollcheck.rollback import engine_for
from rollcheck.settings import resolve
from rollcheck.target import Release
from rollcheck.target import TargetKind
from rollcheck.target import TargetRef

TARGET = TargetRef(TargetKind.DEPLOYMENT, "shop")
REVISION = "deployment.kubernetes.io/revision"


def template(version: str, hash_label: str = "") -> dict[str, Any]:
    labels = {"app": "shop"} | ({"pod-template-hash": hash_label} if hash_label else {})
    return {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": f"shop:{version}"}]}}


def replica_set(version: str, revision: int, minute: int) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"shop-h{version}",
            "uid": f"rs-{version}",
            "creationTimestamp": f"2026-05-01T10:{minute:02d}:00Z",
            "labels": {"app": "shop", "pod-template-hash": f"h{version}"},
            "annotations": {REVISION: str(revision), "kubernetes.io/change-cause": f"deploy {version}"},
            "ownerReferences": [{"uid": "d-1", "controller": True}],
        },
        "spec": {"template": template(version, f"h{version}")},
    }


class FakeKube:
    """Answers get_raw and list_raw from fixed objects (the seam rollcheck owns)."""

    def __init__(self, deployment: dict[str, Any], replica_sets: list[dict[str, Any]]) -> None:
        self.deployment = deployment
        self.replica_sets = replica_sets

    def get_raw(self, kind: str, name: str, namespace: str) -> dict[str, Any]:
        assert (kind, name, namespace) == ("deployment", "shop", "prod")
        return copy.deepcopy(self.deployment)

    def list_raw(self, kind: str, namespace: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        assert (kind, namespace, label_selector) == ("replicaset", "prod", "app=shop")
        return copy.deepcopy(self.replica_sets)


def cluster(current: str = "v3", *, generation: int = 3, revision: int = 3, uid: str = "d-1") -> FakeKube:
    deployment = {
        "metadata": {
            "name": "shop",
            "namespace": "prod",
            "uid": uid,
            "generation": generation,
            "resourceVersion": "555",
            "annotations": {REVISION: str(revision), "kubernetes.io/change-cause": f"deploy {current}"},
        },
        "spec": {"selector": {"matchLabels": {"app": "shop"}}, "template": template(current)},
    }
    return FakeKube(deployment, [replica_set("v1", 1, 1), replica_set("v2", 2, 2), replica_set("v3", 3, 3)])


def verified(**changes: Any) -> Release:
    fields: dict[str, Any] = {
        "target": TARGET,
        "namespace": "prod",
        "revision": 3,
        "images": ("shop:v3",),
        "version": "v3",
        "rollout_completed_at": None,
        "generation": 3,
        "uid": "d-1",
        "template_hash": "hv3",
    }
    return Release(**(fields | changes))


def plan(kube: FakeKube, release: Release | None = None) -> Any:
    return DeploymentRollback(kube).plan(TARGET, "prod", release or verified(), reason="errors")  # type: ignore[arg-type]


def test_the_plan_restores_the_previous_revision() -> None:
    kube = cluster()
    secret = {"name": "DB_PASSWORD", "value": "s3cr3t"}
    kube.replica_sets[1]["spec"]["template"]["spec"]["containers"][0]["env"] = [secret]

    result = plan(kube)

    assert result.skip_reason is None
    assert (result.from_revision, result.to_revision) == (3, 2)
    assert (result.from_images, result.to_images) == (("shop:v3",), ("shop:v2",))
    assert (result.from_version, result.to_version) == ("v3", "v2")
    assert [op["op"] for op in result.patch] == ["test", "replace", "replace"]
    assert result.patch[0]["value"] == "555"
    assert result.patch[1]["value"]["spec"]["containers"][0] == {"name": "app", "image": "shop:v2", "env": [secret]}
    assert result.patch[1]["value"]["metadata"]["labels"] == {"app": "shop"}
    assert result.patch[2]["value"] == {REVISION: "3", "kubernetes.io/change-cause": "deploy v2"}
    assert "s3cr3t" not in repr(result)  # templates (and their env values) stay out of repr


def test_a_recreated_deployment_is_skipped() -> None:
    result = plan(cluster(uid="d-2"))

    assert result.skip_reason is not None
    assert "deleted and recreated" in result.skip_reason
    assert result.patch == ()


def test_a_newer_revision_is_skipped() -> None:
    result = plan(cluster(revision=4), verified(revision=3))

    assert result.skip_reason is not None
    assert "is at revision 4, not the verified revision 3" in result.skip_reason


def test_a_scale_alone_does_not_trip_the_guard() -> None:
    result = plan(cluster(generation=4))

    assert result.skip_reason is None
    assert result.to_revision == 2


def test_a_new_template_not_yet_counted_as_a_revision_is_skipped() -> None:
    # The template changed (generation 4) but the controller has not created its ReplicaSet nor bumped the revision.
    result = plan(cluster("v4", generation=4))

    assert result.skip_reason is not None
    assert "generation 3 → 4" in result.skip_reason


def test_without_a_verified_template_hash_any_generation_change_is_skipped() -> None:
    result = plan(cluster(generation=4), verified(template_hash=None))

    assert result.skip_reason is not None
    assert "generation 3 → 4" in result.skip_reason


def test_already_at_the_previous_template_is_a_skip_not_an_error() -> None:
    kube = cluster()
    # Two ReplicaSets with the current template (kubernetes#40415): the oldest is "new", the other is revision 3.
    kube.replica_sets = [replica_set("v1", 1, 1), replica_set("v3", 2, 2), replica_set("v3", 3, 3)]
    kube.replica_sets[2]["metadata"]["uid"] = "rs-v3-twin"

    result = plan(kube)

    assert result.skip_reason == "skipped rollback (current template already matches revision 2)"


def test_paused_is_refused() -> None:
    kube = cluster()
    kube.deployment["spec"]["paused"] = True

    with pytest.raises(RollbackImpossible, match=f"^{re.escape(PAUSED_MESSAGE)}$"):
        plan(kube)


def test_replica_sets_controlled_by_others_are_not_history() -> None:
    kube = cluster()
    for rs in kube.replica_sets[:2]:
        rs["metadata"]["ownerReferences"] = [{"uid": "someone-else", "controller": True}]

    with pytest.raises(RollbackImpossible, match='no rollout history found for deployment "shop"'):
        plan(kube)


def test_a_release_of_another_target_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="not prod/deployment/shop"):
        plan(cluster(), verified(namespace="staging"))


@pytest.mark.parametrize(
    ("kind", "engine"),
    [
        (TargetKind.DEPLOYMENT, DeploymentRollback),
        (TargetKind.STATEFULSET, StatefulSetRollback),
        (TargetKind.DAEMONSET, DaemonSetRollback),
        (TargetKind.HELM, HelmRollback),
    ],
)
def test_every_target_kind_has_its_engine(kind: TargetKind, engine: type) -> None:
    assert isinstance(engine_for(kind, cluster(), helm=Helm()), engine)  # type: ignore[arg-type]


def test_a_helm_engine_without_the_helm_cli_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"a helm target's engine needs the helm CLI: engine_for\(kind, kube, helm="):
        engine_for(TargetKind.HELM, cluster())  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["cronjob/nightly", "job/migrate", "pod/shop-0"])
def test_a_kind_without_an_engine_is_refused_before_anything_runs(text: str) -> None:
    kind = text.partition("/")[0]
    expected = f"unknown kind '{kind}'; expected one of deployment, statefulset, daemonset, helm"
    with pytest.raises(ValueError, match=re.escape(expected)):
        TargetRef.parse(text)
    # The same refusal through the settings, naming the option and the value (a usage error, exit 4).
    with pytest.raises(ConfigError) as caught:
        resolve(cli={"target": text}, environ={}, config_file=None)
    assert (caught.value.option, caught.value.value) == ("--target", text)
    assert expected in caught.value.problem
