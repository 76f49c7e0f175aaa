"""probe_health and the HTTP client against real loopback servers: the demo service and scripted handlers."""

from __future__ import annotations

import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

import httpx
import pytest
from loopback import Handle
from loopback import Served
from loopback import answer

from localenv_support import free_port
from rollcheck import __version__
from rollcheck.measure import BODY_LIMIT
from rollcheck.measure import get_capped
from rollcheck.measure import http_client
from rollcheck.measure import probe_health
from rollcheck.settings import Settings

Serve = Callable[[Handle], Served]


def _client(url: str, *, timeout: float = 2.0) -> httpx.Client:
    return http_client(Settings(base_url=url, http_timeout=timeout))


def _no_sleep(slept: list[float]) -> Callable[[float], None]:
    return slept.append


def test_healthy_demo_service_passes_on_the_first_probe(demo_service: Callable[..., str]) -> None:
    url = demo_service()
    slept: list[float] = []
    with _client(url) as client:
        result = probe_health(client, "/health", attempts=5, failures=3, interval=1, sleep=_no_sleep(slept))
    assert result.passed
    assert [p.status for p in result.probes] == [200]
    assert slept == []
    assert result.message.startswith(f"GET {url}/health answered 200 OK")
    assert "on attempt 1 of 5" in result.message


def test_failing_demo_service_fails_after_consecutive_failures(demo_service: Callable[..., str]) -> None:
    url = demo_service(DEMO_HEALTH_FAIL="1")
    slept: list[float] = []
    with _client(url) as client:
        result = probe_health(client, "/health", attempts=5, failures=3, interval=0.5, sleep=_no_sleep(slept))
    assert not result.passed
    assert [p.status for p in result.probes] == [503, 503, 503]
    assert slept == [0.5, 0.5]
    assert "3 consecutive failures of 5 attempts" in result.message
    assert "fail after 3 consecutive failures or 5 attempts" in result.message
    assert "503 Service Unavailable" in result.message
    assert "DEMO_HEALTH_FAIL=1" in result.message


def test_recovers_when_a_2xx_comes_before_the_failure_limit(serve: Serve) -> None:
    answers = iter([503, 502, 200])
    served = serve(lambda h: answer(h, next(answers), b'{"status":"ok"}'))
    with _client(served.url) as client:
        result = probe_health(client, "/ready", attempts=5, failures=3, interval=0, sleep=_no_sleep([]))
    assert result.passed
    assert [p.status for p in result.probes] == [503, 502, 200]
    assert served.paths == ["/ready"] * 3


def test_attempts_run_out_before_the_failure_limit(serve: Serve) -> None:
    served = serve(lambda h: answer(h, 500, b"boom"))
    with _client(served.url) as client:
        result = probe_health(client, "/health", attempts=2, failures=3, interval=0, sleep=_no_sleep([]))
    assert not result.passed
    assert len(result.probes) == 2
    assert "no 2xx in 2 attempts" in result.message


def test_connection_refused() -> None:
    with _client(f"http://127.0.0.1:{free_port()}") as client:
        result = probe_health(client, "/health", attempts=3, failures=2, interval=0, sleep=_no_sleep([]))
    assert not result.passed
    assert [p.error for p in result.probes] == ["connection refused", "connection refused"]
    assert all(p.status is None for p in result.probes)
    assert "connection refused" in result.message


def test_a_stalled_server_times_out(serve: Serve) -> None:
    served: Served
    served = serve(lambda h: served.release.wait(10))
    started = time.monotonic()
    with _client(served.url, timeout=0.3) as client:
        result = probe_health(client, "/health", attempts=1, failures=1, interval=0, sleep=_no_sleep([]))
    assert time.monotonic() - started < 3
    assert not result.passed
    assert result.probes[0].error == "timed out after 0.3s (ReadTimeout)"


def _redirect_to_self(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(302)
    handler.send_header("Location", handler.path)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def test_a_redirect_loop_is_cut_short(serve: Serve) -> None:
    served = serve(_redirect_to_self)
    with _client(served.url) as client:
        result = probe_health(client, "/health", attempts=1, failures=1, interval=0, sleep=_no_sleep([]))
    assert not result.passed
    assert result.probes[0].error == "too many redirects (more than 5)"
    assert len(served.paths) == 6  # the first request and five redirects


def test_tls_to_a_plain_http_server_is_a_tls_error(serve: Serve) -> None:
    served = serve(lambda h: answer(h, 200, b"ok"))
    with _client(served.url.replace("http://", "https://")) as client:
        result = probe_health(client, "/health", attempts=1, failures=1, interval=0, sleep=_no_sleep([]))
    assert not result.passed
    assert (result.probes[0].error or "").startswith("TLS error:")


def _endless_body(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(1 << 34))  # 16 GiB announced
    handler.end_headers()
    chunk = b"x" * 65536
    try:
        for _ in range(1 << 18):
            handler.wfile.write(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client stopped reading, as it should


def test_a_huge_body_is_capped(serve: Serve) -> None:
    served = serve(_endless_body)
    started = time.monotonic()
    with _client(served.url) as client:
        capped = get_capped(client, "/health")
        result = probe_health(client, "/health", attempts=1, failures=1, interval=0, sleep=_no_sleep([]))
    assert time.monotonic() - started < 5
    assert capped.truncated
    assert len(capped.body) == BODY_LIMIT
    assert capped.status == 200
    assert result.passed
    assert len(result.message) < 1000


def test_client_identifies_itself_and_keeps_the_base_url(serve: Serve) -> None:
    served = serve(lambda h: answer(h, 200, b"{}"))
    with _client(served.url + "/prefix") as client:
        client.get("items")
    assert served.paths == ["/prefix/items"]
    assert served.headers[0]["User-Agent"] == f"rollcheck/{__version__}"


def test_client_needs_a_base_url() -> None:
    with pytest.raises(ValueError, match="no base URL"):
        http_client(Settings())


def test_probe_arguments_are_validated() -> None:
    with _client("http://127.0.0.1:1") as client, pytest.raises(ValueError, match="at least 1"):
        probe_health(client, "/health", attempts=0, failures=1, interval=0)
