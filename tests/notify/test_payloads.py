"""What each receiver gets: Slack's text and blocks, WeCom's markdown, the webhook's report summary. Each
carries service, namespace, versions, reason with observed value and threshold, recovery, pipeline, commit
and the CI job link."""

from __future__ import annotations

import dataclasses
from typing import Any

from notify_support import Receiver
from notify_support import failed_run

from rollcheck.notify import notify
from rollcheck.record import RollbackAction
from rollcheck.settings import Settings

FACTS = ["deployment/shop", "prod", "v2 → v1", "0.41", "0.01", "pipeline-77", "abc123f"]


def _delivered_to(receiver: Receiver, **settings: Any) -> Any:
    record = notify(failed_run(), Settings(**settings))
    assert [(n.sink, n.delivered, n.attempts) for n in record.notifications] == [
        (next(iter(settings)).split("_")[1], True, 1)
    ]
    [message] = receiver.received
    assert message.path == receiver.secret_path
    assert message.headers["Content-Type"].startswith("application/json")
    return message.json


def test_slack_gets_text_and_blocks_with_every_fact(receiver: Receiver) -> None:
    payload = _delivered_to(receiver, notify_slack_url=receiver.url)
    assert payload["text"] == "rollcheck FAILED: deployment/shop in prod: rolled back (v2 → v1)"
    section, context = payload["blocks"]
    assert (section["type"], section["text"]["type"], context["type"]) == ("section", "mrkdwn", "context")
    text = section["text"]["text"] + context["elements"][0]["text"]
    for fact in FACTS:
        assert fact in text
    assert "observed 0.41 vs threshold 0.01 over 15s" in text
    assert "*Health recovered:* yes" in text
    assert "<https://gitlab.example/j/991|CI job>" in text
    assert "test_health" not in text, "passing checks are not news"


def test_wecom_gets_a_markdown_message_with_every_fact(receiver: Receiver) -> None:
    receiver.final = (200, {"Content-Type": "application/json"}, b'{"errcode": 0, "errmsg": "ok"}')
    payload = _delivered_to(receiver, notify_wecom_url=receiver.url)
    assert set(payload) == {"msgtype", "markdown"}
    assert payload["msgtype"] == "markdown"
    content = payload["markdown"]["content"]
    for fact in FACTS:
        assert fact in content
    assert "> health recovered: yes" in content
    assert content.endswith("[CI job](https://gitlab.example/j/991)")


def test_webhook_gets_the_report_summary(receiver: Receiver) -> None:
    payload = _delivered_to(receiver, notify_webhook_url=receiver.url)
    assert payload["summary"] == "rollcheck FAILED: deployment/shop in prod: rolled back (v2 → v1)"
    assert (payload["verdict"], payload["exit_code"], payload["target"], payload["namespace"]) == (
        "failed", 1, "deployment/shop", "prod",
    )  # fmt: skip
    rollback = payload["rollback"]
    assert (rollback["action"], rollback["from_version"], rollback["to_version"], rollback["recovered"]) == (
        "rolled_back", "v2", "v1", True,
    )  # fmt: skip
    [check] = payload["failed_checks"]
    assert check["measurements"][0]["value"] == 0.41
    assert check["measurements"][0]["threshold"] == 0.01
    assert payload["context"] == {
        "ci": "gitlab-ci", "pipeline_id": "pipeline-77", "commit": "abc123f", "job_url": "https://gitlab.example/j/991",
    }  # fmt: skip
    assert "notifications" not in payload


def test_a_huge_reason_is_cut_to_wecoms_limit_but_keeps_the_job_link(receiver: Receiver) -> None:
    receiver.final = (200, {}, b'{"errcode": 0}')
    record = failed_run()
    record = dataclasses.replace(record, reason="失败" * 3000)
    notify(record, Settings(notify_wecom_url=receiver.url))
    content = receiver.received[0].json["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096
    assert content.endswith("[CI job](https://gitlab.example/j/991)")


def test_slack_markup_in_the_record_is_escaped(receiver: Receiver) -> None:
    record = failed_run()
    record = dataclasses.replace(record, reason="p99 <script> & <!channel>")
    notify(record, Settings(notify_slack_url=receiver.url))
    section = receiver.received[0].json["blocks"][0]["text"]["text"]
    assert "p99 &lt;script&gt; &amp; &lt;!channel&gt;" in section
    assert "<!channel>" not in section


def test_a_failed_rollback_says_so_and_names_its_error(receiver: Receiver) -> None:
    notify(failed_run(RollbackAction.FAILED), Settings(notify_slack_url=receiver.url))
    payload = receiver.received[0].json
    assert "rollback FAILED" in payload["text"]
    assert "the Deployment is paused" in payload["blocks"][0]["text"]["text"]
    assert "*Health recovered:* not checked" in payload["blocks"][0]["text"]["text"]
