"""notify(record, settings): send the due messages and the Kubernetes Event, in parallel, within a bound.

It runs after the rollback and after report.json was first written, so a slow or broken receiver can delay
neither. Each sink runs in its own daemon thread; whatever has not answered when the bound is reached is
recorded as given up, and the thread is left to time out on its own.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..record import NotificationOutcome
from ..record import RollbackAction
from ..record import RunRecord
from ..record import Verdict
from ..settings import SECRET_URL_FILES
from ..settings import NotifyOn
from ..settings import Settings
from ._deliver import Sink
from ._deliver import budget
from ._deliver import deliver
from ._deliver import scrub
from ._event import EVENT_SINK
from ._event import needs_event
from ._event import post_event
from ._message import slack_payload
from ._message import summary
from ._message import wecom_payload

if TYPE_CHECKING:  # only annotations here; httpx is loaded when a notification is sent
    import httpx

__all__ = ["notify", "notify_due"]

log = logging.getLogger("rollcheck.notify")

# Time for a sink's thread to return its outcome after its own budget ran out.
_GRACE = 2.0
# WeCom answers 200 with an errcode; these two mean "too many messages" and "busy", worth a retry.
_WECOM_TRANSIENT = {45009, -1}


def notify_due(record: RunRecord, settings: Settings) -> bool:
    """Does this run send messages under `--notify-on`?"""
    decided = record.rollback.action not in {RollbackAction.NOT_NEEDED, RollbackAction.DISABLED}
    if settings.notify_on is NotifyOn.ROLLBACK:
        return decided
    if settings.notify_on is NotifyOn.FAILURE:
        return decided or record.verdict is not Verdict.PASSED
    return settings.notify_on is NotifyOn.ALWAYS


def notify(record: RunRecord, settings: Settings) -> RunRecord:
    """`record` with one NotificationOutcome per sink that was due (replacing any from an earlier call).

    Never raises, never takes much longer than one sink's budget (3 times --http-timeout, plus backoffs), and never
    touches the rollback. Outcome errors and log lines never hold a notification URL.
    """
    try:
        jobs = _jobs(record, settings)
        outcomes = _run(jobs, budget(settings.http_timeout) * (2 if needs_event(record, settings) else 1) + _GRACE)
    except (Exception, KeyboardInterrupt) as error:  # a bug of ours, or Ctrl-C: recorded, the run goes on
        outcomes = [NotificationOutcome(sink="notify", delivered=False, attempts=0, error=f"{error!r}")]
    secrets = [url for name in SECRET_URL_FILES if (url := getattr(settings, name))]
    return dataclasses.replace(record, notifications=tuple(_scrubbed(outcome, secrets) for outcome in outcomes))


def _jobs(record: RunRecord, settings: Settings) -> list[tuple[str, Callable[[], NotificationOutcome]]]:
    sinks = []
    if notify_due(record, settings):
        if settings.notify_slack_url:
            sinks.append(Sink(name="slack", url=settings.notify_slack_url, payload=slack_payload(record)))
        if settings.notify_wecom_url:
            payload = wecom_payload(record)
            sinks.append(Sink(name="wecom", url=settings.notify_wecom_url, payload=payload, rejected=_wecom_refusal))
        if settings.notify_webhook_url:
            sinks.append(
                Sink(name="webhook", url=settings.notify_webhook_url, payload=summary(record), names_host=True)
            )
    jobs: list[tuple[str, Callable[[], NotificationOutcome]]] = [
        (sink.name, functools.partial(deliver, sink, settings)) for sink in sinks
    ]
    if needs_event(record, settings):
        jobs.append((EVENT_SINK, functools.partial(post_event, record, settings)))
    return jobs


def _wecom_refusal(response: httpx.Response) -> tuple[str, bool] | None:
    """The robot answers 200 with `{"errcode": 0, "errmsg": "ok"}`, or with the reason it refused."""
    try:
        answer = json.loads(response.content)
        code = int(answer["errcode"])
    except (ValueError, TypeError, KeyError):
        return f"WeCom answered {response.content[:100]!r}, not an errcode", False
    if code == 0:
        return None
    return f"WeCom refused the message: errcode {code} {answer.get('errmsg', '')}".strip(), code in _WECOM_TRANSIENT


def _run(jobs: list[tuple[str, Callable[[], NotificationOutcome]]], bound: float) -> list[NotificationOutcome]:
    results: dict[str, NotificationOutcome] = {}

    def run(name: str, job: Callable[[], NotificationOutcome]) -> None:
        try:
            results[name] = job()
        except Exception as error:  # a bug of ours in one sink must not lose the others
            results[name] = NotificationOutcome(sink=name, delivered=False, attempts=0, error=f"{error!r}")

    threads = [threading.Thread(target=run, args=job, name=f"rollcheck-notify-{job[0]}", daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + bound
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    outcomes = []
    for name, _ in jobs:
        outcome = results.get(name)
        if outcome is None:
            log.warning("notification %s gave no answer within %.0fs; given up", name, bound)
            error = f"gave up: no outcome within {bound:.0f}s"
            outcome = NotificationOutcome(sink=name, delivered=False, attempts=0, error=error)
        outcomes.append(outcome)
    return outcomes


def _scrubbed(outcome: NotificationOutcome, secrets: list[str]) -> NotificationOutcome:
    """Every error is scrubbed of every URL, whichever sink it came from: a last line of defence."""
    error = outcome.error
    for url in secrets:
        error = scrub(error, url) if error else error
    return dataclasses.replace(outcome, error=error)
