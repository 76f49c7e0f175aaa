"""The files the node agent publishes: Prometheus file_sd targets and workloads.json."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from rollcheck_localenv.kube_objects import WorkloadRef
from rollcheck_localenv.service_discovery import PublishedFile
from rollcheck_localenv.service_discovery import ScrapeTarget
from rollcheck_localenv.service_discovery import atomic_write_json
from rollcheck_localenv.service_discovery import sanitize_label_name
from rollcheck_localenv.service_discovery import target_groups
from rollcheck_localenv.service_discovery import workload_entries


@pytest.mark.parametrize(
    ("label_key", "prometheus_name"),
    [
        ("app", "app"),
        ("pod-template-hash", "pod_template_hash"),
        ("app.kubernetes.io/name", "app_kubernetes_io_name"),
        ("example.com/tier_2", "example_com_tier_2"),
        ("9lives", "_9lives"),
    ],
)
def test_label_names_are_sanitised_to_prometheus_rules(label_key: str, prometheus_name: str) -> None:
    assert sanitize_label_name(label_key) == prometheus_name


def shop_target(**pod_labels: str) -> ScrapeTarget:
    return ScrapeTarget(
        namespace="prod",
        pod="shop-7d9f-abcde",
        port=40123,
        version="v2",
        workload=WorkloadRef("prod", "Deployment", "shop"),
        pod_labels=pod_labels,
    )


def test_target_group_carries_pod_workload_and_sanitised_pod_labels() -> None:
    group = shop_target(**{"app": "shop", "pod-template-hash": "7d9f", "app.kubernetes.io/name": "shop"}).target_group()

    assert group == {
        "targets": ["127.0.0.1:40123"],
        "labels": {
            "namespace": "prod",
            "pod": "shop-7d9f-abcde",
            "workload": "shop",
            "workload_kind": "deployment",
            "version": "v2",
            "app": "shop",
            "pod_template_hash": "7d9f",
            "app_kubernetes_io_name": "shop",
        },
    }


def test_pod_labels_never_replace_reserved_labels() -> None:
    labels = shop_target(version="from-label", namespace="evil", instance="x", job="y", __meta_x="z").labels()

    assert labels["version"] == "v2"
    assert labels["namespace"] == "prod"
    assert "instance" not in labels
    assert "job" not in labels
    assert "__meta_x" not in labels


def test_bare_pod_has_no_workload_labels() -> None:
    target = ScrapeTarget(namespace="prod", pod="debug", port=40000, version="v1", pod_labels={})

    assert target.labels() == {"namespace": "prod", "pod": "debug", "version": "v1"}


def test_target_groups_are_in_a_stable_order() -> None:
    late = ScrapeTarget(namespace="b", pod="a", port=2, version="v1", pod_labels={})
    early = ScrapeTarget(namespace="a", pod="z", port=1, version="v1", pod_labels={})

    assert [group["targets"] for group in target_groups([late, early])] == [["127.0.0.1:1"], ["127.0.0.1:2"]]


def test_workload_entries_list_kind_name_and_port() -> None:
    exposed = {WorkloadRef("prod", "StatefulSet", "db"): 20002, WorkloadRef("prod", "Deployment", "shop"): 20001}

    assert workload_entries(exposed) == [
        {"namespace": "prod", "kind": "Deployment", "name": "shop", "port": 20001},
        {"namespace": "prod", "kind": "StatefulSet", "name": "db", "port": 20002},
    ]


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "agent" / "prometheus-targets.json"
    atomic_write_json(path, [{"old": True}])

    atomic_write_json(path, [{"targets": ["127.0.0.1:1"], "labels": {}}])

    assert json.loads(path.read_text()) == [{"targets": ["127.0.0.1:1"], "labels": {}}]
    assert os.listdir(path.parent) == ["prometheus-targets.json"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_published_file_is_rewritten_only_on_change(tmp_path: Path) -> None:
    published = PublishedFile(tmp_path / "workloads.json")

    assert published.publish([])
    assert not published.publish([])
    assert published.publish([{"name": "shop"}])
    published.path.unlink()
    assert published.publish([{"name": "shop"}])
    assert json.loads(published.path.read_text()) == [{"name": "shop"}]


def test_workload_entries_carry_a_requested_load_rate() -> None:
    quiet, busy = WorkloadRef("prod", "Deployment", "quiet"), WorkloadRef("prod", "Deployment", "busy")

    assert workload_entries({quiet: 20001, busy: 20002}, {quiet: 0.5}) == [
        {"namespace": "prod", "kind": "Deployment", "name": "busy", "port": 20002},
        {"namespace": "prod", "kind": "Deployment", "name": "quiet", "port": 20001, "rate": 0.5},
    ]
