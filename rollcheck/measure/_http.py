"""The HTTP client checks use against the release: bounded in time, redirects, retries and body size."""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

import httpx

from .._version import __version__
from ..settings._model import Settings

__all__ = ["BODY_LIMIT", "MAX_REDIRECTS", "CappedResponse", "get_capped", "http_client", "redact_url"]

MAX_REDIRECTS = 5
"""Redirects followed before giving up: a loop ends as an error, not a hang."""
BODY_LIMIT = 64 * 1024
"""Bytes of a probe's body that are read; a health endpoint has no business sending more."""
_CONNECT_RETRIES = 2


def redact_url(url: str) -> str:
    """The URL without user info, query or fragment: safe to show in a message or a report."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


@functools.cache
def _system_trust() -> ssl.SSLContext:
    """httpx's verifying context on its CA bundle, built once per process: building one takes 0.1 s or more,
    and a suite that checks a hundred workloads builds a client for each."""
    return httpx.create_ssl_context()


def _verify(settings: Settings) -> ssl.SSLContext | bool:
    if not settings.tls_verify:
        return False
    if settings.ca_file is not None:
        # An SSLContext rather than a path: httpx 0.28 deprecates verify=<path>. Not cached, so a CA file
        # rotated under a long-running `rollcheck serve` is read again.
        return ssl.create_default_context(cafile=str(settings.ca_file))
    return _system_trust()


def http_client(settings: Settings) -> httpx.Client:
    """An httpx client on `settings.base_url`: the run's timeout, TLS verification (with `ca_file`), at most
    MAX_REDIRECTS redirects, connection errors retried twice (nothing else: a 5xx is evidence), and a
    `rollcheck/<version>` User-Agent. Raises ValueError when there is no base URL."""
    if not settings.base_url:
        raise ValueError("no base URL is configured (--base-url)")
    verify = _verify(settings)
    return httpx.Client(
        base_url=settings.base_url,
        timeout=httpx.Timeout(settings.http_timeout),
        verify=verify,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        transport=httpx.HTTPTransport(retries=_CONNECT_RETRIES, verify=verify),
        headers={"User-Agent": f"rollcheck/{__version__}"},
    )


@dataclass(frozen=True)
class CappedResponse:
    """An answer of which at most `limit` bytes of body were read."""

    url: str
    """The final URL (after redirects), without credentials or query."""
    status: int
    """HTTP status code."""
    reason: str
    """Reason phrase, for example `Service Unavailable`."""
    body: bytes
    """The first bytes of the (decoded) body."""
    truncated: bool
    """True when the body was longer than the limit and the rest was not read."""


def get_capped(client: httpx.Client, path: str, *, limit: int = BODY_LIMIT) -> CappedResponse:
    """GET `path`, reading at most `limit` bytes of the body: a multi-gigabyte answer costs 64 KiB, not memory.
    Raises httpx errors (connection, timeout, TLS, too many redirects) as they are."""
    with client.stream("GET", path) as response:
        body = bytearray()
        truncated = False
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                truncated = True
                break
        return CappedResponse(
            url=redact_url(str(response.url)),
            status=response.status_code,
            reason=response.reason_phrase,
            body=bytes(body[:limit]),
            truncated=truncated,
        )
