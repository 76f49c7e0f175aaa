"""Delivery against real receivers: transient failures are retried within a bound, others are not, and
whatever happens is recorded, never raised."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest
from notify_support import STALL
from notify_support import Receiver
from notify_support import failed_run

from rollcheck.notify import notify
from rollcheck.notify import notify_due
from rollcheck.record import RollbackAction
from rollcheck.record import Verdict
from rollcheck.settings import NotifyOn
from rollcheck.settings import Settings


def test_a_503_then_200_is_delivered_on_the_second_attempt(receiver: Receiver) -> None:
    receiver.answers.append((503, {}, b"upstream down"))
    [outcome] = notify(failed_run(), Settings(notify_slack_url=receiver.url)).notifications
    assert (outcome.sink, outcome.delivered, outcome.attempts, outcome.error) == ("slack", True, 2, None)
    assert len(receiver.received) == 2
    assert receiver.received[0].body == receiver.received[1].body, "the same message again"


def test_a_400_is_not_retried_and_is_recorded(receiver: Receiver) -> None:
    receiver.final = (400, {}, b"invalid_payload")
    [outcome] = notify(failed_run(), Settings(notify_slack_url=receiver.url)).notifications
    assert (outcome.delivered, outcome.attempts) == (False, 1)
    assert outcome.error == "400 Bad Request: invalid_payload"
    assert len(receiver.received) == 1


def test_retry_after_is_honoured(receiver: Receiver) -> None:
    receiver.answers.append((429, {"Retry-After": "1"}, b"rate_limited"))
    started = time.monotonic()
    [outcome] = notify(failed_run(), Settings(notify_slack_url=receiver.url)).notifications
    assert (outcome.delivered, outcome.attempts) == (True, 2)
    assert time.monotonic() - started >= 1.0, "waited as long as the receiver asked, not the 0.5s backoff"


def test_a_retry_after_beyond_the_budget_gives_up_instead_of_retrying_early(receiver: Receiver) -> None:
    receiver.final = (429, {"Retry-After": "3600"}, b"")
    started = time.monotonic()
    [outcome] = notify(failed_run(), Settings(notify_slack_url=receiver.url, http_timeout=1.0)).notifications
    assert (outcome.delivered, outcome.attempts, outcome.error) == (False, 1, "429 Too Many Requests")
    assert time.monotonic() - started < 2


def test_a_stalled_receiver_is_bounded_by_the_timeout(receiver: Receiver) -> None:
    receiver.answers.extend([STALL, STALL, STALL])
    started = time.monotonic()
    [outcome] = notify(failed_run(), Settings(notify_slack_url=receiver.url, http_timeout=0.5)).notifications
    elapsed = time.monotonic() - started
    assert (outcome.delivered, outcome.attempts) == (False, 3)
    assert outcome.error == "ReadTimeout: timed out (after 3 attempts)"
    # Three 0.5s timeouts and the 0.5s + 2s backoffs: 4s; the bound leaves room for a slow machine only.
    assert 3.5 <= elapsed < 7


def test_connection_refused_is_recorded_and_returns_promptly(refused_url: str) -> None:
    started = time.monotonic()
    [outcome] = notify(failed_run(), Settings(notify_webhook_url=refused_url)).notifications
    assert (outcome.sink, outcome.delivered, outcome.attempts) == ("webhook", False, 3)
    assert outcome.error is not None
    assert outcome.error.startswith("127.0.0.1: ConnectError:"), "the webhook's error may name its host"
    assert "Connection refused" in outcome.error
    assert time.monotonic() - started < 4, "two backoffs, no timeouts"


def test_wecom_refusal_in_a_200_is_a_failure_and_its_rate_limit_is_retried(receiver_factory: Any) -> None:
    refused: Receiver = receiver_factory(final=(200, {}, b'{"errcode": 93000, "errmsg": "invalid webhook url"}'))
    limited: Receiver = receiver_factory()
    limited.answers.append((200, {}, b'{"errcode": 45009, "errmsg": "api freq out of limit"}'))
    limited.final = (200, {}, b'{"errcode": 0, "errmsg": "ok"}')
    [bad] = notify(failed_run(), Settings(notify_wecom_url=refused.url)).notifications
    assert (bad.delivered, bad.attempts, bad.error) == (
        False, 1, "WeCom refused the message: errcode 93000 invalid webhook url",
    )  # fmt: skip
    [good] = notify(failed_run(), Settings(notify_wecom_url=limited.url)).notifications
    assert (good.delivered, good.attempts) == (True, 2)


def test_every_sink_runs_at_once_so_one_stall_does_not_delay_the_others(receiver_factory: Any) -> None:
    stalled: Receiver = receiver_factory()
    stalled.answers.extend([STALL, STALL, STALL])
    fine: Receiver = receiver_factory(final=(200, {}, b'{"errcode": 0}'))
    settings = Settings(notify_slack_url=stalled.url, notify_wecom_url=fine.url, http_timeout=0.5)
    record = notify(failed_run(), settings)
    assert [(n.sink, n.delivered) for n in record.notifications] == [("slack", False), ("wecom", True)]
    assert len(fine.received) == 1


@pytest.mark.parametrize(
    ("notify_on", "verdict", "action", "due"),
    [
        (NotifyOn.FAILURE, Verdict.FAILED, RollbackAction.ROLLED_BACK, True),
        (NotifyOn.FAILURE, Verdict.FAILED, RollbackAction.DISABLED, True),
        (NotifyOn.FAILURE, Verdict.INCONCLUSIVE, RollbackAction.NOT_NEEDED, True),
        (NotifyOn.FAILURE, Verdict.PASSED, RollbackAction.NOT_NEEDED, False),
        (NotifyOn.ROLLBACK, Verdict.FAILED, RollbackAction.DRY_RUN, True),
        (NotifyOn.ROLLBACK, Verdict.FAILED, RollbackAction.SKIPPED, True),
        (NotifyOn.ROLLBACK, Verdict.FAILED, RollbackAction.FAILED, True),
        (NotifyOn.ROLLBACK, Verdict.FAILED, RollbackAction.DISABLED, False),
        (NotifyOn.ROLLBACK, Verdict.INCONCLUSIVE, RollbackAction.NOT_NEEDED, False),
        (NotifyOn.ALWAYS, Verdict.PASSED, RollbackAction.NOT_NEEDED, True),
        (NotifyOn.NEVER, Verdict.FAILED, RollbackAction.ROLLED_BACK, False),
    ],
)
def test_notify_on(notify_on: NotifyOn, verdict: Verdict, action: RollbackAction, due: bool) -> None:
    record = dataclasses.replace(failed_run(action), verdict=verdict)
    assert notify_due(record, Settings(notify_on=notify_on)) is due


def test_nothing_is_sent_when_not_due(receiver: Receiver) -> None:
    settings = Settings(notify_slack_url=receiver.url, notify_on=NotifyOn.NEVER)
    assert notify(failed_run(), settings).notifications == ()
    assert receiver.received == []
