"""The receiver in a thread of the test process, acting on the local cluster: what it refuses, what it rolls
back (once), and what it leaves alone on purpose."""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from alertmanager_webhook import payload
from kubernetes import client
from serve_support import AUTH
from serve_support import TOKEN
from serve_support import alert
from serve_support import image
from serve_support import metric
from serve_support import post
from serve_support import revision

from localenv_support import Releases
from rollcheck.serve import ReceiverServer

StartReceiver = Callable[..., ReceiverServer]


def _two_revisions(releases: Releases, name: str) -> None:
    releases.deploy(name, "v1", replicas=1)
    releases.wait_rollout(name)
    releases.set_release(name, "v2")
    releases.wait_rollout(name)


def _reports(server: ReceiverServer) -> list[dict[str, object]]:
    root = server.config.settings.report_dir
    found = [json.loads(path.read_text()) for path in root.glob("*/report.json")] if root.exists() else []
    return sorted(found, key=lambda report: str(report["timings"]["started_at"]))


def test_bad_requests_are_refused_with_their_status_and_change_nothing(
    cluster_receiver: StartReceiver, releases: Releases
) -> None:
    _two_revisions(releases, "refuses")
    server = cluster_receiver(allow_namespaces=frozenset({releases.namespace}), max_body_bytes=4096)
    url, ns = server.url, releases.namespace
    good = payload(alert({"namespace": ns, "deployment": "refuses"}))
    endpoint = f"{url}/alertmanager"

    assert post(url, good, headers={}).status_code == 401
    assert post(url, good, headers={"Authorization": "Bearer not-the-token"}).status_code == 401
    assert post(url, good, headers={"Authorization": TOKEN}).status_code == 401  # no scheme
    malformed = httpx.post(endpoint, content=b'{"version": "4", "alerts": [', headers=AUTH, timeout=10)
    assert malformed.status_code == 400
    assert "not valid JSON" in malformed.json()["error"]
    oversized = httpx.post(endpoint, content=b"x" * 8192, headers=AUTH, timeout=10)
    assert oversized.status_code == 413
    assert "8192 bytes; at most 4096" in oversized.json()["error"]
    unnamed = post(url, payload(alert({"namespace": ns, "workload": "refuses"})))
    assert unnamed.status_code == 422
    assert "name no workload" in unnamed.json()["alerts"][0]["reason"]
    unknown = post(url, payload(alert({"namespace": ns, "rollcheck_target": "cronjob/refuses"})))
    assert unknown.status_code == 422
    assert "unknown kind 'cronjob'" in unknown.json()["alerts"][0]["reason"]
    elsewhere = post(url, payload(alert({"namespace": "kube-system", "deployment": "refuses"})))
    assert elsewhere.status_code == 403
    assert f"not one of --allow-namespace {ns}" in elsewhere.json()["alerts"][0]["reason"]
    wrong_version = post(url, {**good, "version": "3"})
    assert wrong_version.status_code == 422
    assert httpx.post(endpoint, content=b"null", headers=AUTH, timeout=10).status_code == 422
    resolved = post(url, payload(alert({"namespace": ns, "deployment": "refuses"}, status="resolved")))
    assert (resolved.status_code, resolved.json()["alerts"][0]["outcome"]) == (200, "ignored")

    assert server.desk.wait_idle(5)
    assert (revision(releases, "refuses"), image(releases, "refuses")) == ("2", "rollcheck-demo:v2")
    assert _reports(server) == []
    assert metric(url, 'rollcheck_serve_requests_total{endpoint="/alertmanager",code="401"}') == 3
    assert metric(url, 'rollcheck_serve_alerts_refused_total{reason="namespace_not_allowed"}') == 1


def test_a_firing_alert_rolls_back_once_and_repeats_do_nothing(
    cluster_receiver: StartReceiver,
    releases: Releases,
    kube_api: client.ApiClient,
    notification_sink: tuple[str, list[dict[str, object]]],
) -> None:
    _two_revisions(releases, "rolls")
    sink_url, notified = notification_sink
    server = cluster_receiver(cooldown=600.0, settings={"notify_webhook_url": sink_url})
    url, ns = server.url, releases.namespace
    delivery = payload(alert({"namespace": ns, "deployment": "rolls", "version": "v2"}, fingerprint="f1"))

    started = time.monotonic()
    first = post(url, delivery)
    assert first.status_code == 202
    assert time.monotonic() - started < 2, "the answer must not wait for the rollback"
    [accepted] = first.json()["alerts"]
    assert accepted["outcome"] == "started"
    again = post(url, delivery)  # Alertmanager resends while the rollback runs
    assert again.status_code == 202
    assert again.json()["alerts"][0]["outcome"] in {"repeat", "in_progress"}
    assert server.desk.wait_idle(120)

    [report] = _reports(server)
    assert (revision(releases, "rolls"), image(releases, "rolls")) == ("3", "rollcheck-demo:v1"), report
    report_dir = server.config.settings.report_dir / accepted["event"]
    assert (report_dir / "report.json").is_file()
    assert report["verdict"] == "failed"
    assert report["rollback"]["action"] == "rolled_back"
    assert (report["rollback"]["from_version"], report["rollback"]["to_version"]) == ("v2", "v1")
    assert report["checks"][0]["id"] == "alertmanager/HighErrorRate"
    assert {n["sink"]: n["delivered"] for n in report["notifications"]} == {  # type: ignore[attr-defined]
        "webhook": True,
        "kubernetes-event": True,
    }
    [message] = notified
    assert (message["target"], message["namespace"]) == ("deployment/rolls", ns)
    events = client.CoreV1Api(kube_api).list_namespaced_event(
        ns, field_selector="involvedObject.kind=Deployment,involvedObject.name=rolls,reason=RollcheckRollback"
    )
    assert len(events.items) == 1

    repeat = post(url, delivery)
    assert repeat.json()["alerts"][0]["outcome"] == "repeat"
    new_firing = post(url, payload(alert({"namespace": ns, "deployment": "rolls"}, fingerprint="f2")))
    assert new_firing.json()["alerts"][0]["outcome"] == "cooldown"
    assert server.desk.wait_idle(5)
    assert revision(releases, "rolls") == "3"
    assert len(_reports(server)) == 1
    assert metric(url, 'rollcheck_serve_rollbacks_total{action="rolled_back"}') == 1
    assert metric(url, "rollcheck_serve_rollback_duration_seconds_count") == 1


def test_an_alert_about_an_older_release_or_before_a_newer_rollout_is_skipped(
    cluster_receiver: StartReceiver, releases: Releases
) -> None:
    _two_revisions(releases, "newer")
    server = cluster_receiver()
    url, ns = server.url, releases.namespace
    old_version = post(url, payload(alert({"namespace": ns, "deployment": "newer", "version": "v1"})))
    assert old_version.status_code == 202
    assert server.desk.wait_idle(60)
    # A skip attempted no rollback, so no cooldown: the next alert for the workload is judged on its own.
    before = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    old_start = post(url, payload(alert({"namespace": ns, "rollcheck_target": "deployment/newer"}, starts_at=before)))
    assert old_start.json()["alerts"][0]["outcome"] == "started"
    assert server.desk.wait_idle(60)

    assert revision(releases, "newer") == "2"
    first, second = _reports(server)
    assert (first["rollback"]["action"], second["rollback"]["action"]) == ("skipped", "skipped")  # type: ignore[index]
    assert "the alert is about version v1, but the workload now runs v2" in str(first["rollback"]["reason"])  # type: ignore[index]
    assert "a newer deploy is not the alert's to undo" in str(second["rollback"]["reason"])  # type: ignore[index]
    assert metric(url, 'rollcheck_serve_rollbacks_total{action="skipped"}') == 2


def test_a_passing_verification_suite_stops_the_rollback(
    cluster_receiver: StartReceiver, releases: Releases, tmp_path: Path
) -> None:
    _two_revisions(releases, "verified")
    suite = tmp_path / "suite" / "test_fine.py"
    suite.parent.mkdir()
    suite.write_text(
        "import pytest\n\n"
        "@pytest.mark.rollcheck_check(category='custom', severity='critical')\n"
        "def test_release_is_v2(release):\n"
        "    assert release.version == 'v2'\n"
    )
    server = cluster_receiver(verify_suite=suite, suite_timeout=240.0)
    response = post(server.url, payload(alert({"namespace": releases.namespace, "deployment": "verified"})))
    assert response.status_code == 202
    assert server.desk.wait_idle(240)

    assert revision(releases, "verified") == "2"
    [report] = _reports(server)
    assert (report["verdict"], report["exit_code"], report["rollback"]["action"]) == ("passed", 0, "skipped")
    assert "the verification suite passed" in str(report["rollback"]["reason"])
    verify = next(check for check in report["checks"] if str(check["id"]).startswith("verify/"))  # type: ignore[index]
    assert verify["outcome"] == "passed"  # type: ignore[index]
