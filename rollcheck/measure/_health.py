"""Probing a health endpoint until it answers 2xx or fails often enough in a row.

Used by the built-in health check and, after a rollback, to confirm the restored revision is healthy, so it
knows nothing about pytest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from .._errors import truncate
from ._http import MAX_REDIRECTS
from ._http import get_capped
from ._http import redact_url

__all__ = ["HealthResult", "Probe", "probe_health"]

_BODY_SHOWN = 120


@dataclass(frozen=True)
class Probe:
    """One request to a health endpoint."""

    status: int | None
    """HTTP status code; None when there was no answer."""
    error: str | None
    """Why there was no answer (connection refused, TLS error, timeout, too many redirects); None otherwise."""
    latency_s: float
    """Seconds from sending the request to reading the (capped) body or failing."""
    detail: str = ""
    """Reason phrase and the start of the body, for the message."""

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        outcome = f"{self.status} {self.detail}".rstrip() if self.status is not None else f"{self.error}"
        return f"{outcome} ({self.latency_s * 1000:.0f} ms)"


@dataclass(frozen=True)
class HealthResult:
    """The verdict on one health endpoint, with every probe that led to it."""

    path: str
    """The probed path, relative to the base URL."""
    passed: bool
    """True when a probe answered 2xx before the failure rule fired."""
    probes: tuple[Probe, ...]
    """Every probe, in order."""
    message: str
    """What was probed, what came back and the rule applied, in one sentence."""


def _failure(error: httpx.HTTPError, timeout: str) -> str:
    # httpx reports refused connections and TLS failures alike as ConnectError; the text tells them apart.
    text = truncate(str(error) or type(error).__name__, 160)
    if isinstance(error, httpx.TooManyRedirects):
        return f"too many redirects (more than {MAX_REDIRECTS})"
    if isinstance(error, httpx.TimeoutException):
        return f"timed out after {timeout} ({type(error).__name__})"
    if isinstance(error, httpx.ConnectError):
        if "refused" in text.lower():
            return "connection refused"
        if "ssl" in text.lower() or "certificate" in text.lower():
            return f"TLS error: {text}"
        return f"connection failed: {text}"
    return f"{type(error).__name__}: {text}"


def _probe(client: httpx.Client, path: str) -> Probe:
    started = time.perf_counter()
    try:
        answer = get_capped(client, path)
    except httpx.HTTPError as error:
        timeout = f"{client.timeout.read:g}s" if client.timeout.read is not None else "the timeout"
        return Probe(status=None, error=_failure(error, timeout), latency_s=time.perf_counter() - started)
    body = truncate(answer.body.decode("utf-8", "replace"), _BODY_SHOWN)
    return Probe(
        status=answer.status,
        error=None,
        latency_s=time.perf_counter() - started,
        detail=f"{answer.reason} {body}".strip(),
    )


def probe_health(
    client: httpx.Client,
    path: str,
    *,
    attempts: int,
    failures: int,
    interval: float,
    sleep: Callable[[float], None] = time.sleep,
) -> HealthResult:
    """GET `path` until an answer is 2xx (passed), `failures` probes in a row fail (failed), or `attempts`
    probes have been made (failed), sleeping `interval` seconds between probes.

    A failure is any non-2xx answer or no answer at all (connection refused, TLS error, timeout, redirect loop).
    """
    if attempts < 1 or failures < 1:
        raise ValueError(f"attempts ({attempts}) and failures ({failures}) must be at least 1")
    url = f"{redact_url(str(client.base_url))}{path}"
    rule = (
        f"rule: pass on the first 2xx; fail after {failures} consecutive failures or {attempts} attempts, "
        f"{interval:g}s apart"
    )
    probes: list[Probe] = []
    consecutive = 0
    while len(probes) < attempts:
        if probes:
            sleep(interval)
        probe = _probe(client, path)
        probes.append(probe)
        if probe.ok:
            message = f"GET {url} answered {probe.describe()} on attempt {len(probes)} of {attempts} ({rule})"
            return HealthResult(path=path, passed=True, probes=tuple(probes), message=message)
        consecutive += 1
        if consecutive >= failures:
            break
    seen = "; ".join(f"#{n} {p.describe()}" for n, p in enumerate(probes, 1))
    why = (
        f"{consecutive} consecutive failures of {attempts} attempts"
        if consecutive >= failures
        else f"no 2xx in {attempts} attempts"
    )
    message = f"GET {url} failed: {why} ({rule}): {seen}"
    return HealthResult(path=path, passed=False, probes=tuple(probes), message=message)
