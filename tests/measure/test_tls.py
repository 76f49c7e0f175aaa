"""TLS verification of the HTTP and Prometheus clients against a real HTTPS server on loopback, and URL redaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from https_loopback import serving_https
from loopback import answer

from rollcheck import MetricsUnavailable
from rollcheck.measure import Prometheus
from rollcheck.measure import http_client
from rollcheck.measure import probe_health
from rollcheck.measure import redact_url
from rollcheck.measure._http import _verify
from rollcheck.settings import Settings

VECTOR = json.dumps({"status": "success", "data": {"resultType": "vector", "result": []}}).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        answer(self, 200, VECTOR)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTPS server with a certificate from a throw-away CA; yields its URL and the CA file."""
    with serving_https(tmp_path, _Handler) as (url, ca_file):
        yield url, ca_file


def _probe(settings: Settings) -> bool:
    with http_client(settings) as client:
        return probe_health(client, "/health", attempts=1, failures=1, interval=0).passed


def test_http_client_verifies_certificates(https_server: tuple[str, Path]) -> None:
    url, ca_file = https_server
    assert not _probe(Settings(base_url=url)), "an unknown CA must not be trusted"
    assert _probe(Settings(base_url=url, ca_file=ca_file))
    assert _probe(Settings(base_url=url, tls_verify=False))


def test_prometheus_client_verifies_certificates(https_server: tuple[str, Path]) -> None:
    url, ca_file = https_server
    untrusted = Prometheus(url, retries=0)
    with pytest.raises(MetricsUnavailable, match="TLS error"):
        untrusted.query("up")
    untrusted.close()
    for verify in (str(ca_file), False):
        trusted = Prometheus(url, verify=verify, retries=0)
        assert trusted.query("up") == []
        trusted.close()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:secret@prom.example:9090/prefix/?token=abc#x", "https://prom.example:9090/prefix"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://[::1]:9090/", "http://[::1]:9090"),
        ("https://token@prom.example", "https://prom.example"),
    ],
)
def test_redact_url_drops_credentials_query_and_fragment(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_clients_share_one_system_trust_context_but_read_a_ca_file_each_time(https_server: tuple[str, Path]) -> None:
    # A fan-out suite builds a client per workload; building the default context each time cost 0.1 s apiece.
    _, ca_file = https_server
    assert _verify(Settings()) is _verify(Settings(base_url="https://other.example"))
    assert _verify(Settings(ca_file=ca_file)) is not _verify(Settings(ca_file=ca_file))
    assert _verify(Settings(tls_verify=False)) is False
