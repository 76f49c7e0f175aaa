"""Notification URLs are secrets: with canary values in them, nothing rollcheck returns, writes or logs holds
them, even when a receiver echoes the URL back in its error."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from notify_support import Receiver
from notify_support import failed_run

from rollcheck import ConfigError
from rollcheck.notify import notify
from rollcheck.record._json import write_report
from rollcheck.record._logline import write_log_line
from rollcheck.settings import Settings
from rollcheck.settings import resolve

CANARIES = ("CANARYslack9f3e", "CANARYwecom77aa", "CANARYhook5150", "CANARYquery4242")


def _leaks(text: str) -> list[str]:
    return [canary for canary in CANARIES if canary in text]


def test_no_canary_in_the_record_report_log_line_or_logs(
    receiver_factory: Any, refused_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: Any
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included: their INFO lines would name the URL
    slack: Receiver = receiver_factory(secret_path=f"/services/T0/B0/{CANARIES[0]}")
    slack.final = (404, {}, f"no_service: {slack.url} {slack.secret_path}".encode())
    wecom: Receiver = receiver_factory(secret_path=f"/cgi-bin/webhook/send?key={CANARIES[1]}")
    wecom.final = (200, {}, json.dumps({"errcode": 93000, "errmsg": f"invalid key {CANARIES[1]}"}).encode())
    webhook_url = refused_url.replace("/hook/refusedtoken", f"/hook/{CANARIES[2]}?token={CANARIES[3]}")
    settings = Settings(notify_slack_url=slack.url, notify_wecom_url=wecom.url, notify_webhook_url=webhook_url)

    record = notify(failed_run(), settings)

    assert [(n.sink, n.delivered) for n in record.notifications] == [
        ("slack", False), ("wecom", False), ("webhook", False),
    ]  # fmt: skip
    assert all(n.error for n in record.notifications), "each failure says why"
    assert record.notifications[0].error is not None
    assert "404 Not Found" in record.notifications[0].error
    report = write_report(record, tmp_path).read_text()
    stream = io.StringIO()
    write_log_line(record, stream)
    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert "notification slack not delivered" in logged
    outputs = {
        "record": repr(record),
        "report": report,
        "log line": stream.getvalue(),
        "logs": logged,
        "stderr": capsys.readouterr().err,
        "settings": repr(settings),
    }
    assert {where: _leaks(text) for where, text in outputs.items() if _leaks(text)} == {}
    assert '"notifications"' in report


@pytest.mark.parametrize("bad", [f"ftp://hooks.example/{CANARIES[0]}", f"https://user:{CANARIES[0]}@hooks.example/x"])
def test_a_bad_secret_url_is_a_config_error_that_hides_it(bad: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve(cli={}, environ={"ROLLCHECK_NOTIFY_SLACK_URL": bad}, config_file=None)
    assert caught.value.option == "ROLLCHECK_NOTIFY_SLACK_URL"
    assert caught.value.value == "<hidden>"
    assert "must be an http:// or https:// URL" in str(caught.value)
    assert not _leaks(str(caught.value))


def test_a_url_file_is_read_at_resolve_time(tmp_path: Path) -> None:
    path = tmp_path / "slack-url"
    path.write_text(f"https://hooks.slack.com/services/T/B/{CANARIES[0]}\n")
    settings = resolve(cli={"notify_slack_url_file": str(path)}, environ={}, config_file=None)
    assert settings.notify_slack_url == f"https://hooks.slack.com/services/T/B/{CANARIES[0]}"
    assert not _leaks(repr(settings))


def test_a_url_file_that_holds_no_url_names_the_file_not_its_content(tmp_path: Path) -> None:
    path = tmp_path / "wecom-url"
    path.write_text(f"key={CANARIES[1]}")
    with pytest.raises(ConfigError) as caught:
        resolve(cli={}, environ={"ROLLCHECK_NOTIFY_WECOM_URL_FILE": str(path)}, config_file=None)
    assert (caught.value.option, caught.value.value) == ("ROLLCHECK_NOTIFY_WECOM_URL_FILE", str(path))
    assert "does not hold a valid URL" in caught.value.problem
    assert not _leaks(str(caught.value))


def test_a_missing_url_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        resolve(cli={"notify_webhook_url_file": str(tmp_path / "absent")}, environ={}, config_file=None)


def test_the_url_and_its_file_together_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "url"
    path.write_text("https://hooks.example/x")
    with pytest.raises(ConfigError) as caught:
        resolve(
            cli={"notify_slack_url_file": str(path)},
            environ={"ROLLCHECK_NOTIFY_SLACK_URL": f"https://hooks.example/{CANARIES[0]}"},
            config_file=None,
        )
    assert caught.value.option == "--notify-slack-url-file"
    assert "ROLLCHECK_NOTIFY_SLACK_URL" in caught.value.problem
    assert not _leaks(str(caught.value))
