"""The Deployment ↔ ReplicaSet helpers ported from kubectl, on raw dicts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rollcheck.kube import equal_ignore_hash
from rollcheck.kube import find_new_replica_set
from rollcheck.kube import is_controlled_by
from rollcheck.kube import parse_revision
from rollcheck.kube import selector_string
from rollcheck.kube import semantic_equal
from rollcheck.kube import sorted_by_creation
from rollcheck.kube import without_hash


def template(image: str, hash_label: str | None = None, **extra: Any) -> dict[str, Any]:
    labels = {"app": "shop"} | ({"pod-template-hash": hash_label} if hash_label else {})
    return {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": image, **extra}]}}


def replica_set(name: str, created: str, image: str, revision: str | None = None) -> dict[str, Any]:
    annotations = {"deployment.kubernetes.io/revision": revision} if revision is not None else {}
    return {
        "metadata": {"name": name, "uid": f"uid-{name}", "creationTimestamp": created, "annotations": annotations},
        "spec": {"template": template(image, hash_label=name[-5:])},
    }


def test_selector_string_matches_kubectl() -> None:
    selector = {
        "matchLabels": {"tier": "web", "app": "shop"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "canary"]},
            {"key": "legacy", "operator": "DoesNotExist"},
            {"key": "zone", "operator": "NotIn", "values": ["b"]},
            {"key": "team", "operator": "Exists"},
        ],
    }

    assert selector_string(selector) == "app=shop,env in (canary,prod),!legacy,team,tier=web,zone notin (b)"
    assert selector_string({}) == ""
    with pytest.raises(ValueError, match="Matches"):
        selector_string({"matchExpressions": [{"key": "a", "operator": "Matches"}]})


@pytest.mark.parametrize(
    ("refs", "expected"),
    [
        ([{"uid": "d1", "controller": True}], True),
        ([{"uid": "d1", "controller": False}], False),
        ([{"uid": "d1"}], False),
        ([{"uid": "other", "controller": True}, {"uid": "d1"}], False),
        ([], False),
    ],
)
def test_only_a_controller_reference_with_the_uid_counts(refs: list[dict[str, Any]], expected: bool) -> None:
    assert is_controlled_by({"metadata": {"ownerReferences": refs}}, "d1") is expected


def test_sorted_by_creation_breaks_ties_by_name() -> None:
    rs = [
        replica_set("shop-b", "2026-05-01T10:00:01Z", "v1"),
        replica_set("shop-c", "2026-05-01T10:00:00Z", "v1"),
        replica_set("shop-a", "2026-05-01T10:00:01Z", "v1"),
    ]

    assert [r["metadata"]["name"] for r in sorted_by_creation(rs)] == ["shop-c", "shop-a", "shop-b"]


def test_the_new_replica_set_is_the_oldest_with_the_deployment_template() -> None:
    deployment = {"spec": {"template": template("shop:v2")}}
    old = replica_set("shop-11111", "2026-05-01T10:00:00Z", "shop:v1")
    newer_twin = replica_set("shop-33333", "2026-05-01T10:05:00Z", "shop:v2")
    new = replica_set("shop-22222", "2026-05-01T10:01:00Z", "shop:v2")

    assert find_new_replica_set(deployment, [newer_twin, old, new]) is new
    assert find_new_replica_set(deployment, [old]) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, 0),
        ("7", 7),
        ("+7", 7),
        ("-1", -1),
        ("007", 7),
        ("seven", None),
        (" 7", None),
        ("7_0", None),
        ("", None),
        ("9223372036854775807", 2**63 - 1),
        ("9223372036854775808", None),
        ("٣", None),
    ],
)
def test_parse_revision_is_go_parseint(value: str | None, expected: int | None) -> None:
    annotations = {} if value is None else {"deployment.kubernetes.io/revision": value}

    assert parse_revision({"metadata": {"annotations": annotations}}) == expected


def test_equal_ignore_hash_ignores_only_the_hash_label() -> None:
    assert equal_ignore_hash(template("shop:v1", "aaaaa"), template("shop:v1"))
    assert equal_ignore_hash(template("shop:v1", "aaaaa"), template("shop:v1", "bbbbb"))
    assert not equal_ignore_hash(template("shop:v1", "aaaaa"), template("shop:v2", "aaaaa"))
    assert not equal_ignore_hash(template("shop:v1"), template("shop:v1", env=[{"name": "A", "value": "1"}]))


def test_without_hash_leaves_its_input_alone() -> None:
    original = template("shop:v1", "aaaaa")
    kept = copy.deepcopy(original)

    stripped = without_hash(original)

    assert stripped["metadata"]["labels"] == {"app": "shop"}
    assert original == kept


def test_nil_and_empty_maps_and_lists_are_equal_like_semantic_deep_equal() -> None:
    assert semantic_equal({"a": 1, "labels": {}, "env": [], "x": None}, {"a": 1})
    # The hash label was the only label: ObjectMeta{Labels: {}} equals ObjectMeta{} in Go.
    assert equal_ignore_hash({"metadata": {"labels": {"pod-template-hash": "h"}}}, {"metadata": {}})
    assert equal_ignore_hash({"metadata": {"labels": {"pod-template-hash": "h"}}}, {})
    assert semantic_equal({"resources": {"limits": {}}}, {})
    assert not semantic_equal({"a": False}, {})
    assert not semantic_equal({"a": ""}, {})
    assert not semantic_equal({"a": 0}, {})
    assert not semantic_equal([{}], [])
    assert not semantic_equal({"a": [{}]}, {})


def test_comparing_templates_leaves_them_alone() -> None:
    # The comparison drops the hash label without copying the templates first: it must not drop it from them.
    deployment = {"spec": {"template": template("shop:v2", "22222")}}
    replica_sets = [
        replica_set("shop-11111", "2026-05-01T10:00:00Z", "shop:v1"),
        replica_set("shop-22222", "2026-05-01T10:01:00Z", "shop:v2"),
    ]
    kept = copy.deepcopy((deployment, replica_sets))

    assert find_new_replica_set(deployment, replica_sets) is replica_sets[1]
    assert equal_ignore_hash(replica_sets[1]["spec"]["template"], deployment["spec"]["template"])
    assert (deployment, replica_sets) == kept
    assert replica_sets[1]["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == "22222"


@pytest.mark.parametrize(
    ("deployment_container", "replica_set_container"),
    [
        ({"name": "app", "image": "shop:v2", "resources": {}}, {"name": "app", "image": "shop:v2"}),
        ({"name": "app"}, {"name": "app", "image": None}),
        ({"name": "app", "image": {}}, {"name": "app"}),
    ],
    ids=["empty-resources", "null-image", "empty-image-object"],
)
def test_the_image_shortcut_never_passes_over_an_equal_template(
    deployment_container: dict[str, Any], replica_set_container: dict[str, Any]
) -> None:
    # Templates with different images are skipped before the full comparison; semantically equal ones never are.
    def pod_template(container: dict[str, Any], hash_label: str | None = None) -> dict[str, Any]:
        labels = {"app": "shop"} | ({"pod-template-hash": hash_label} if hash_label else {})
        return {"metadata": {"labels": labels}, "spec": {"containers": [container]}}

    deployment = {"spec": {"template": pod_template(deployment_container)}}
    history = [replica_set(f"shop-{n:05d}", f"2026-05-01T10:{n:02d}:00Z", f"shop:old{n}") for n in range(20)]
    match = {
        "metadata": {"name": "shop-match", "uid": "uid-match", "creationTimestamp": "2026-05-01T11:00:00Z"},
        "spec": {"template": pod_template(replica_set_container, "match")},
    }

    assert equal_ignore_hash(match["spec"]["template"], deployment["spec"]["template"])
    assert find_new_replica_set(deployment, [*history, match]) is match
    assert find_new_replica_set(deployment, history) is None
