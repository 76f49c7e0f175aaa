"""Posting one message to one receiver: a timeout per request, bounded retries of transient failures only,
Retry-After honoured when it fits in the sink's time budget (otherwise it gives up rather than retry early),
and errors that never hold the URL's secret.

Requests go straight to an httpx transport, not through an httpx.Client: the client logs every request's
full URL at INFO level, and these URLs are secrets.
"""

from __future__ import annotations

import http
import json
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import urlsplit

from .._errors import truncate
from .._version import __version__
from ..record import NotificationOutcome
from ..settings import Settings

if TYPE_CHECKING:  # loaded when a notification is sent: a run that sends none does not pay for httpx
    import httpx

__all__ = ["BACKOFFS", "Sink", "budget", "deliver", "scrub"]

log = logging.getLogger("rollcheck.notify")

BACKOFFS = (0.5, 2.0)
"""Seconds before each retry: three attempts in all."""
_HIDDEN = "<hidden>"
# Shorter path segments and query values ("services", "send") are not secret, and hiding them would garble.
_MIN_SECRET_PART = 6


def budget(timeout: float) -> float:
    """The most time one sink may take: every attempt timing out, plus the backoffs between them."""
    return (len(BACKOFFS) + 1) * timeout + sum(BACKOFFS)


@dataclass(frozen=True, kw_only=True, repr=False)
class Sink:
    """One receiver and the message for it."""

    name: str
    """`slack`, `wecom` or `webhook`: the name in the report."""
    url: str
    """Where to POST. A secret: never logged, never in an error."""
    payload: dict[str, Any]
    """The JSON body."""
    names_host: bool = False
    """May an error name the URL's host? Only for the generic webhook, whose host says which receiver failed."""
    rejected: Callable[[httpx.Response], tuple[str, bool] | None] = lambda response: None
    """For a 2xx answer that still refuses the message (WeCom's `errcode`): the problem and whether it is
    transient; None when accepted."""

    def __repr__(self) -> str:
        return f"Sink({self.name}, url hidden)"


def scrub(text: str, url: str) -> str:
    """`text` without the URL or any secret-looking part of it (its path, query, long segments and values)."""
    parts = urlsplit(url)
    secrets = {url, url.split("://", 1)[-1], parts.path, parts.query}
    secrets.update(segment for segment in parts.path.split("/") if len(segment) >= _MIN_SECRET_PART)
    secrets.update(value for _, value in parse_qsl(parts.query) if len(value) >= _MIN_SECRET_PART)
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, _HIDDEN)
    return text


def _verify(settings: Settings) -> ssl.SSLContext | bool:
    if not settings.tls_verify:
        return False
    # The system's CAs and the run's CA bundle: Slack and WeCom have public certificates, an in-house webhook
    # may not.
    context = ssl.create_default_context()
    if settings.ca_file is not None:
        context.load_verify_locations(cafile=str(settings.ca_file))
    return context


def deliver(sink: Sink, settings: Settings, *, sleep: Callable[[float], None] = time.sleep) -> NotificationOutcome:
    """POST the message, retrying connection errors, timeouts, 429 and 5xx; never raises."""
    deadline = time.monotonic() + budget(settings.http_timeout)
    body = json.dumps(sink.payload, ensure_ascii=False).encode("utf-8")
    where = f"{urlsplit(sink.url).hostname}: " if sink.names_host else ""
    attempts = len(BACKOFFS) + 1
    import httpx

    with httpx.HTTPTransport(verify=_verify(settings)) as transport:
        for attempt in range(1, attempts + 1):
            problem, transient, retry_after = _attempt(transport, sink, body, settings.http_timeout)
            if problem is None:
                log.info("notification %s delivered (attempt %d)", sink.name, attempt)
                return NotificationOutcome(sink=sink.name, delivered=True, attempts=attempt)
            problem = truncate(scrub(problem, sink.url))
            delay = max(BACKOFFS[attempt - 1] if attempt < attempts else 0.0, retry_after or 0.0)
            if not transient or attempt == attempts or time.monotonic() + delay >= deadline:
                log.warning("notification %s not delivered: %s%s", sink.name, where, problem)
                error = f"{where}{problem}" + (f" (after {attempt} attempts)" if attempt > 1 else "")
                return NotificationOutcome(sink=sink.name, delivered=False, attempts=attempt, error=error)
            log.warning(
                "notification %s: attempt #%d/%d failed; will retry in %.1fs: %s%s",
                sink.name,
                attempt,
                attempts,
                delay,
                where,
                problem,
            )
            sleep(delay)
    raise AssertionError("unreachable: the last attempt always returns")


def _attempt(
    transport: httpx.HTTPTransport, sink: Sink, body: bytes, timeout: float
) -> tuple[str | None, bool, float | None]:
    """One POST: (problem or None, is it transient, the server's Retry-After in seconds)."""
    import httpx

    request = httpx.Request(
        "POST",
        sink.url,
        content=body,
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": f"rollcheck/{__version__}"},
        extensions={"timeout": httpx.Timeout(timeout).as_dict()},
    )
    try:
        response = transport.handle_request(request)
        try:
            response.read()
        finally:
            response.close()
    except httpx.TransportError as error:
        return f"{type(error).__name__}: {error}", True, None
    status = response.status_code
    if 200 <= status <= 299:
        refused = sink.rejected(response)
        return (None, False, None) if refused is None else (refused[0], refused[1], None)
    transient = status == 429 or status >= 500
    retry_after = response.headers.get("Retry-After", "").strip()
    text = response.content[:300].decode("utf-8", "replace")
    problem = f"{status} {_phrase(status)}" + (f": {text}" if text.strip() else "")
    return problem, transient, float(retry_after) if retry_after.isdigit() else None


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"
