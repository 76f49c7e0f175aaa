"""The pure parts of kubectl's Deployment rollback: revision choice, annotations, the patch, the markers."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from rollcheck import RollbackImpossible
from rollcheck.rollback import ROLLBACK_REASON
from rollcheck.rollback import ROLLED_BACK_AT
from rollcheck.rollback import ROLLED_BACK_FROM
from rollcheck.rollback import guarded_patch
from rollcheck.rollback import kubectl_patch
from rollcheck.rollback import marker_ops
from rollcheck.rollback import rollback_annotations
from rollcheck.rollback import select_revision

REVISION = "deployment.kubernetes.io/revision"


def template(image: str, hash_label: str = "") -> dict[str, Any]:
    labels = {"app": "shop"} | ({"pod-template-hash": hash_label} if hash_label else {})
    return {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": image}]}}


def rs(name: str, minute: int, image: str, revision: str | None) -> dict[str, Any]:
    annotations = {} if revision is None else {REVISION: revision}
    return {
        "metadata": {
            "name": name,
            "uid": f"uid-{name}",
            "creationTimestamp": f"2026-05-01T10:{minute:02d}:00Z",
            "annotations": annotations,
        },
        "spec": {"template": template(image, hash_label=f"h{name}")},
    }


def deployment(image: str) -> dict[str, Any]:
    return {"metadata": {"name": "shop"}, "spec": {"template": template(image)}}


def chosen(current: str, replica_sets: list[dict[str, Any]], to_revision: int = 0) -> tuple[str, int]:
    replica_set, revision = select_revision(deployment(current), replica_sets, to_revision)
    return replica_set["metadata"]["name"], revision


def test_the_previous_revision_is_the_second_highest() -> None:
    history = [rs("a", 1, "v1", "1"), rs("b", 2, "v2", "2"), rs("c", 3, "v3", "3")]

    assert chosen("v3", history) == ("b", 2)


def test_after_an_earlier_rollback_it_is_not_current_minus_one() -> None:
    # v1 (1), v2 (2), v3 (3), then undo to v2: the v2 ReplicaSet became revision 4.
    history = [rs("a", 1, "v1", "1"), rs("b", 2, "v2", "4"), rs("c", 3, "v3", "3")]

    assert chosen("v2", history) == ("c", 3)


def test_a_missing_revision_counts_as_zero_and_an_unparsable_one_is_skipped() -> None:
    history = [rs("a", 1, "v1", None), rs("b", 2, "v2", "two"), rs("c", 3, "v3", "3")]

    assert chosen("v3", history) == ("a", 0)


def test_no_history_has_kubectls_message() -> None:
    with pytest.raises(RollbackImpossible, match=r'^no rollout history found for deployment "shop"$'):
        chosen("v1", [rs("a", 1, "v1", "1")])
    with pytest.raises(RollbackImpossible, match="no rollout history"):
        chosen("v1", [rs("a", 1, "v1", "1"), rs("b", 2, "v2", "x")])


def test_equal_revisions_resolve_as_kubectls_walk_does() -> None:
    # Old ReplicaSets by creation time, then the new one: the first 5 seen stays "latest", the next is "previous".
    history = [rs("new", 1, "v9", "5"), rs("old2", 3, "v2", "5"), rs("old1", 2, "v1", "5")]

    assert chosen("v9", history) == ("old2", 5)


def test_a_specific_revision() -> None:
    history = [rs("a", 1, "v1", "1"), rs("b", 2, "v2", "2"), rs("c", 3, "v3", "3")]

    assert chosen("v3", history, to_revision=1) == ("a", 1)
    with pytest.raises(RollbackImpossible, match=r"^unable to find specified revision 7 in history$"):
        chosen("v3", history, to_revision=7)
    with pytest.raises(RollbackImpossible, match=r"^unable to find specified revision -1 in history$"):
        chosen("v3", history, to_revision=-1)


def test_annotations_are_computed_as_kubectl_does() -> None:
    on_deployment = {
        REVISION: "3",
        "deployment.kubernetes.io/revision-history": "1",
        "kubectl.kubernetes.io/last-applied-configuration": "{...}",
        "kubernetes.io/change-cause": "deploy v3",
        "team": "web",
        "only-on-deployment": "dropped",
    }
    on_replica_set = {
        REVISION: "2",
        "deployment.kubernetes.io/desired-replicas": "2",
        "deployment.kubernetes.io/max-replicas": "3",
        "kubernetes.io/change-cause": "deploy v2",
        "team": "web-old",
    }

    assert rollback_annotations(on_deployment, on_replica_set) == {
        REVISION: "3",
        "deployment.kubernetes.io/revision-history": "1",
        "kubectl.kubernetes.io/last-applied-configuration": "{...}",
        "kubernetes.io/change-cause": "deploy v2",
        "team": "web-old",
    }
    assert rollback_annotations(None, None) == {}


def test_the_patch_is_kubectls_two_replace_ops_behind_a_resource_version_test() -> None:
    source = template("v2", hash_label="abc12")

    patch = guarded_patch("1234", source, {"a": "b"})

    assert patch == [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "1234"},
        {"op": "replace", "path": "/spec/template", "value": template("v2")},
        {"op": "replace", "path": "/metadata/annotations", "value": {"a": "b"}},
    ]
    assert patch[1:] == kubectl_patch(source, {"a": "b"})
    assert source["metadata"]["labels"]["pod-template-hash"] == "abc12"


def test_markers_are_add_ops_with_escaped_keys() -> None:
    at = datetime.datetime(2026, 5, 1, 12, 0, 5, 123, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))

    ops = marker_ops(from_revision=3, from_version="v3", reason="error rate " + "x" * 500, at=at)

    by_path = {op["path"]: op["value"] for op in ops}
    assert {op["op"] for op in ops} == {"add"}
    assert by_path["/metadata/annotations/rollcheck.dev~1rolled-back-from"] == "revision 3 (v3)"
    assert by_path["/metadata/annotations/rollcheck.dev~1rolled-back-at"] == "2026-05-01T10:00:05Z"
    assert len(by_path["/metadata/annotations/rollcheck.dev~1rollback-reason"]) == 200
    assert {ROLLED_BACK_FROM, ROLLED_BACK_AT, ROLLBACK_REASON} == {
        "rollcheck.dev/" + p.rsplit("~1", 1)[1] for p in by_path
    }


def test_without_a_reason_there_is_no_reason_marker() -> None:
    ops = marker_ops(from_revision=None, from_version=None, reason="", at=datetime.datetime.now(datetime.UTC))

    assert [op["value"] for op in ops if op["path"].endswith("from")] == ["revision unknown"]
    assert not [op for op in ops if op["path"].endswith("reason")]
