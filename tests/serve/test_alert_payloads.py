"""What serve reads from Alertmanager's and Flagger's payloads, and the /metrics text, without a cluster."""

from __future__ import annotations

import datetime
import re

import pytest
from alertmanager_webhook import payload
from prometheus_client.parser import text_string_to_metric_families
from serve_support import alert

from rollcheck.serve import PayloadError
from rollcheck.serve import ServeMetrics
from rollcheck.serve import parse_alertmanager
from rollcheck.serve import parse_flagger
from rollcheck.serve import resolve_target


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"namespace": "prod", "deployment": "shop"}, "deployment/shop"),
        ({"namespace": "prod", "statefulset": "db"}, "statefulset/db"),
        ({"namespace": "prod", "daemonset": "agent"}, "daemonset/agent"),
        ({"namespace": "prod", "helm_release": "shop"}, "helm/shop"),
        ({"namespace": "prod", "rollcheck_target": "sts/db", "deployment": "ignored"}, "statefulset/db"),
    ],
)
def test_the_labels_name_the_workload(labels: dict[str, str], expected: str) -> None:
    found = resolve_target(labels)
    assert (str(found.target), found.namespace) == (expected, "prod")


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        ({"deployment": "shop"}, "no namespace label"),
        ({"namespace": "Prod!", "deployment": "shop"}, "namespace label 'Prod!' must be a Kubernetes namespace"),
        ({"namespace": "prod", "workload": "shop"}, "name no workload: expected one of deployment, statefulset"),
        ({"namespace": "prod", "deployment": "a", "daemonset": "b"}, "more than one workload"),
        ({"namespace": "prod", "rollcheck_target": "cronjob/x"}, "rollcheck_target label 'cronjob/x': unknown kind"),
        ({"namespace": "prod", "deployment": "Shop_1"}, "deployment label 'Shop_1'"),
    ],
)
def test_an_alert_without_a_workload_gets_a_reason(labels: dict[str, str], reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        resolve_target(labels)


def test_alertmanager_payload_is_read_with_nanosecond_times_and_a_stable_key() -> None:
    start = datetime.datetime(2026, 11, 26, 10, 0, 1, 123456, tzinfo=datetime.UTC)
    body = payload(
        alert({"namespace": "prod", "deployment": "shop"}, starts_at=start, fingerprint="abc"),
        alert({"namespace": "prod", "deployment": "shop"}, status="resolved", fingerprint="def"),
    )
    firing, resolved = parse_alertmanager(body)
    assert (firing.name, firing.firing, firing.starts_at) == ("HighErrorRate", True, start)
    assert firing.key == f"abc@{start.isoformat()}"
    assert parse_alertmanager(body)[0].key == firing.key
    assert not resolved.firing


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([], "expected a JSON object"),
        ({"version": "3", "alerts": []}, "version '3' is not supported"),
        ({"version": "4"}, "no list of alerts"),
        ({"version": "4", "alerts": ["x"]}, "alert 1 is not an object"),
        ({"version": "4", "alerts": [{"status": "firing", "labels": {"a": 1}}]}, "alert 1 labels must be"),
        ({"version": "4", "alerts": [{"status": "pending", "labels": {}}]}, "status 'pending'"),
    ],
)
def test_a_payload_that_is_not_a_version_4_webhook_is_refused(body: object, problem: str) -> None:
    with pytest.raises(PayloadError) as raised:
        parse_alertmanager(body)
    assert problem in str(raised.value)


def test_flagger_payload_names_the_canary_deployment_or_the_metadata_target() -> None:
    body = {"name": "shop", "namespace": "prod", "phase": "Progressing", "checksum": "85d557f47b", "metadata": {}}
    request = parse_flagger(body)
    assert (str(request.where.target), request.where.namespace, request.phase) == (
        "deployment/shop",
        "prod",
        "Progressing",
    )
    assert request.checksum == "85d557f47b"
    body["metadata"] = {"target": "statefulset/db", "type": "pre-rollout"}
    assert str(parse_flagger(body).where.target) == "statefulset/db"
    with pytest.raises(PayloadError, match=re.escape("metadata.target 'job/x'")):
        parse_flagger({**body, "metadata": {"target": "job/x"}})
    with pytest.raises(PayloadError, match="name and namespace"):
        parse_flagger({"namespace": "prod"})


def test_metrics_are_valid_prometheus_text() -> None:
    metrics = ServeMetrics()
    metrics.count("rollcheck_serve_alerts_received_total", "firing")
    metrics.count("rollcheck_serve_rollbacks_total", "rolled_back")
    metrics.count("rollcheck_serve_requests_total", '/odd"path\\', "404")
    metrics.observe_duration(3.2)
    families = {family.name: family for family in text_string_to_metric_families(metrics.render())}
    received = families["rollcheck_serve_alerts_received"].samples
    assert [(s.labels, s.value) for s in received] == [({"status": "firing"}, 1.0)]
    requests = families["rollcheck_serve_requests"].samples
    assert requests[0].labels == {"endpoint": '/odd"path\\', "code": "404"}
    duration = {
        (s.name, s.labels.get("le")): s.value for s in families["rollcheck_serve_rollback_duration_seconds"].samples
    }
    assert duration[("rollcheck_serve_rollback_duration_seconds_bucket", "2.5")] == 0
    assert duration[("rollcheck_serve_rollback_duration_seconds_bucket", "5")] == 1
    assert duration[("rollcheck_serve_rollback_duration_seconds_count", None)] == 1
    assert duration[("rollcheck_serve_rollback_duration_seconds_sum", None)] == pytest.approx(3.2)
