"""What serve leaves alone on purpose, read from the live cluster: a rollout under way, a deploy newer than the
alert, rollcheck's own rollback (also after a restart of serve), and an inconclusive verification. And what a
failure before anything was sent does: nothing is remembered, so the next delivery is judged again."""

from __future__ import annotations

import datetime
import io
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from alertmanager_webhook import payload
from serve_support import alert
from serve_support import image
from serve_support import inconclusive_suite
from serve_support import post
from serve_support import revision

from localenv_support import LocalEnv
from localenv_support import Releases
from localenv_support import free_port
from rollcheck.serve import ReceiverServer

StartReceiver = Callable[..., ReceiverServer]


def _two_revisions(releases: Releases, name: str, *, replicas: int = 1) -> None:
    releases.deploy(name, "v1", replicas=replicas)
    releases.wait_rollout(name)
    releases.set_release(name, "v2")
    releases.wait_rollout(name)


def _report(server: ReceiverServer, answer: dict[str, object]) -> dict[str, object]:
    [accepted] = answer["alerts"]  # type: ignore[misc]
    assert accepted["outcome"] == "started", answer
    path = server.config.settings.report_dir / accepted["event"] / "report.json"
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def _handle(server: ReceiverServer, labels: dict[str, str], **alert_options: object) -> dict[str, object]:
    answer = post(server.url, payload(alert(labels, **alert_options)))  # type: ignore[arg-type]
    assert answer.status_code == 202, answer.text
    assert server.desk.wait_idle(120)
    return _report(server, answer.json())


def test_an_alert_during_a_rollout_does_not_undo_the_release_rolling_out(
    cluster_receiver: StartReceiver, releases: Releases
) -> None:
    _two_revisions(releases, "rolling")
    fired = datetime.datetime.now(datetime.UTC)  # the alert is about v2 ...
    releases.set_release("rolling", "v3", env={"DEMO_HEALTH_FAIL": "1"})  # ... and the fix v3 never gets Ready
    server = cluster_receiver()

    report = _handle(server, {"namespace": releases.namespace, "deployment": "rolling"}, starts_at=fired)

    rollback = report["rollback"]
    assert rollback["action"] == "skipped", rollback  # type: ignore[index]
    assert "a rollout is in progress" in rollback["reason"]  # type: ignore[index]
    assert "the alert may be about an older release" in rollback["reason"]  # type: ignore[index]
    assert (revision(releases, "rolling"), image(releases, "rolling")) == ("3", "rollcheck-demo:v3")


def test_a_deploy_that_started_after_the_alert_is_not_the_alerts_to_undo(
    cluster_receiver: StartReceiver, releases: Releases
) -> None:
    # No replicas: the rollout completes at once and no pod ever becomes Ready, so the rollout's completion
    # time is unknown and only the deploy's start (its ReplicaSet's creation) can tell.
    releases.deploy("scaled-down", "v1", replicas=0)
    releases.wait_rollout("scaled-down")
    fired = datetime.datetime.now(datetime.UTC)
    time.sleep(3)  # past the guard's slack for whole-second timestamps
    releases.set_release("scaled-down", "v2")
    releases.wait_rollout("scaled-down")
    server = cluster_receiver()

    report = _handle(server, {"namespace": releases.namespace, "deployment": "scaled-down"}, starts_at=fired)

    rollback = report["rollback"]
    assert rollback["action"] == "skipped", rollback  # type: ignore[index]
    assert "started deploying at" in rollback["reason"]  # type: ignore[index]
    assert "a newer deploy is not the alert's to undo" in rollback["reason"]  # type: ignore[index]
    assert image(releases, "scaled-down") == "rollcheck-demo:v2"


def test_a_restarted_receiver_does_not_flip_back_over_rollchecks_own_rollback(
    cluster_receiver: StartReceiver, releases: Releases
) -> None:
    _two_revisions(releases, "flips")
    labels = {"namespace": releases.namespace, "deployment": "flips"}
    first = cluster_receiver(cooldown=600.0)
    rolled = _handle(first, labels)
    assert rolled["rollback"]["action"] == "rolled_back", rolled  # type: ignore[index]
    assert (revision(releases, "flips"), image(releases, "flips")) == ("3", "rollcheck-demo:v1")

    # A new receiver (serve restarted: nothing in memory) gets a new firing about the restored v1.
    restarted = cluster_receiver(cooldown=600.0)
    within = _handle(restarted, labels)
    assert within["rollback"]["action"] == "skipped", within  # type: ignore[index]
    assert "rollcheck rolled it back from revision 2" in within["rollback"]["reason"]  # type: ignore[index]
    assert "within the cooldown of 600s" in within["rollback"]["reason"]  # type: ignore[index]

    # After the cooldown, rolling back again would restore revision 2: the release rollcheck just took away.
    short = cluster_receiver(cooldown=1.0)
    time.sleep(2)
    after = _handle(short, labels)
    assert after["rollback"]["action"] == "skipped", after  # type: ignore[index]
    assert "would restore revision 2, the one rollcheck rolled back from" in after["rollback"]["reason"]  # type: ignore[index]
    assert (revision(releases, "flips"), image(releases, "flips")) == ("3", "rollcheck-demo:v1")


def test_an_inconclusive_verification_follows_on_inconclusive(
    cluster_receiver: StartReceiver, releases: Releases, tmp_path: Path
) -> None:
    _two_revisions(releases, "unsure")
    server = cluster_receiver(verify_suite=inconclusive_suite(tmp_path / "suite"), suite_timeout=240.0)

    report = _handle(server, {"namespace": releases.namespace, "deployment": "unsure"})

    assert (report["verdict"], report["exit_code"]) == ("inconclusive", 7), report
    assert report["rollback"]["action"] == "not_needed"  # type: ignore[index]
    assert "the verification suite was inconclusive" in report["rollback"]["reason"]  # type: ignore[index]
    assert "on-inconclusive=fail" in report["rollback"]["reason"]  # type: ignore[index]
    assert revision(releases, "unsure") == "2"


def test_a_failure_before_anything_was_sent_is_retried_on_the_next_delivery(
    start_receiver: StartReceiver, releases: Releases, localenv: LocalEnv, tmp_path: Path
) -> None:
    _two_revisions(releases, "retried")
    # The receiver's kubeconfig first names a port nothing listens on: a real unreachable API server.
    real = localenv.kubeconfig.read_text()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(real.replace(_api_server(real), f"https://127.0.0.1:{free_port()}"))
    server = start_receiver(kubeconfig=kubeconfig, cooldown=600.0)
    delivery = payload(alert({"namespace": releases.namespace, "deployment": "retried"}, fingerprint="retry"))

    failed = post(server.url, delivery)
    assert server.desk.wait_idle(120)
    report = _report(server, failed.json())
    assert (report["rollback"]["action"], report["rollback"]["issued_at"]) == ("failed", None)  # type: ignore[index]

    kubeconfig.write_text(real)  # the API server is reachable again
    again = post(server.url, delivery)  # Alertmanager's next delivery of the same firing
    assert server.desk.wait_idle(120)
    retried = _report(server, again.json())
    assert retried["rollback"]["action"] == "rolled_back", retried  # type: ignore[index]
    assert (revision(releases, "retried"), image(releases, "retried")) == ("3", "rollcheck-demo:v1")


def test_a_report_that_cannot_be_written_anywhere_still_logs_and_notifies(
    start_receiver: StartReceiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    notification_sink: tuple[str, list[dict[str, object]]],
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("report_dir is a file, so report.json cannot go there\n")
    # The fallback is a new temporary directory: point the standard library's temporary root at a directory
    # that does not exist (a real failing file system; nothing of rollcheck's is replaced).
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{free_port()}'}}}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {}}]\n"
    )
    sink_url, notified = notification_sink
    server = start_receiver(
        kubeconfig=kubeconfig, settings={"report_dir": blocked / "reports", "notify_webhook_url": sink_url}
    )

    answer = post(server.url, payload(alert({"namespace": "prod", "deployment": "shop"})))
    assert answer.status_code == 202
    assert server.desk.wait_idle(120)

    assert isinstance(server.log, io.StringIO)
    log = server.log.getvalue()
    assert "no report could be written" in log, log
    [line] = [json.loads(text) for text in log.splitlines() if text.startswith('{"event"')]
    assert (line["event"], line["service"]) == ("rollcheck.rollback.failed", "deployment/shop"), line
    [message] = notified
    assert message["target"] == "deployment/shop"


def _api_server(kubeconfig_text: str) -> str:
    start = kubeconfig_text.index("https://127.0.0.1:")
    end = start + len("https://127.0.0.1:")
    while kubeconfig_text[end].isdigit():
        end += 1
    return kubeconfig_text[start:end]
