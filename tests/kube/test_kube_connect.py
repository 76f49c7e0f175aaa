"""Connecting: kubeconfig resolution, error messages that name the file and context but no secret, timeouts."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from rollcheck import ClusterUnavailable
from rollcheck import KubernetesError
from rollcheck.kube import KubeconfigError
from rollcheck.kube import RetryPolicy
from rollcheck.kube import connect

TOKEN = "s3cr3t-t0ken-value"
NO_RETRY = RetryPolicy(backoffs=())


def kubeconfig(path: Path, server: str = "https://127.0.0.1:1", contexts: tuple[str, ...] = ("ci",)) -> Path:
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": TOKEN}}],
        "contexts": [{"name": name, "context": {"cluster": "c", "user": "u"}} for name in contexts],
        "current-context": contexts[0],
    }
    path.write_text(json.dumps(document))
    return path


@pytest.fixture(autouse=True)
def no_ambient_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_an_explicit_kubeconfig_and_context_are_used(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "config", server="https://10.1.2.3:6443", contexts=("ci", "prod"))

    with connect(kubeconfig=path, context="prod", timeout=3) as kube:
        assert kube.api.configuration.host == "https://10.1.2.3:6443"
        assert kube.timeout == 3
        assert TOKEN not in repr(kube)


def test_kubeconfig_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = kubeconfig(tmp_path / "config", server="https://10.9.9.9:6443")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{path}")

    with connect(kubeconfig=None, context=None) as kube:
        assert kube.api.configuration.host == "https://10.9.9.9:6443"


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match=f"kubeconfig {tmp_path / 'nope'} does not exist"):
        connect(kubeconfig=tmp_path / "nope", context=None)


def test_no_kubeconfig_anywhere_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match=r"\.kube/config does not exist, \$KUBECONFIG is not set"):
        connect(kubeconfig=None, context=None)


def test_an_unknown_context_is_named_with_the_file(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "config")

    with pytest.raises(KubeconfigError) as raised:
        connect(kubeconfig=path, context="staging")

    assert str(raised.value) == f"kubeconfig {path}, context 'staging': there is no context 'staging' in the file"


def test_invalid_yaml_is_reported_without_quoting_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(f"users:\n- name: u\n  user: {{token: {TOKEN}\n")

    with pytest.raises(KubeconfigError) as raised:
        connect(kubeconfig=path, context=None)

    assert str(raised.value).startswith(f"kubeconfig {path}: not valid YAML (line ")
    assert TOKEN not in str(raised.value)
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_in_a_pod_without_a_service_account_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")

    with pytest.raises(KubeconfigError, match="in-cluster service account could not be loaded"):
        connect(kubeconfig=None, context=None)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_every_request_times_out_also_through_the_typed_apis(tmp_path: Path, silent_server: str) -> None:
    path = kubeconfig(tmp_path / "config", server=silent_server)
    with connect(kubeconfig=path, context=None, timeout=0.3, retry=NO_RETRY) as kube:
        # The message carries urllib3's "read timeout=…": the configured 0.3 s, not an endless wait.
        with pytest.raises(ClusterUnavailable, match=r"get deployment prod/shop: .*read timeout=0\.[23]"):
            kube.get_raw("deployment", "shop", "prod")
        with pytest.raises(ClusterUnavailable, match=r"read shop: .*read timeout=0\.[23]"):
            kube.call("read shop", lambda: kube.apps.read_namespaced_deployment("shop", "prod"))


def test_a_ping_is_one_attempt_with_the_request_timeout(tmp_path: Path, silent_server: str) -> None:
    # Pinging only keeps a connection warm: a retried ping would hold the keepalive for the whole backoff.
    path = kubeconfig(tmp_path / "config", server=silent_server)
    with connect(kubeconfig=path, context=None, timeout=0.3) as kube:
        started = time.monotonic()
        with pytest.raises(ClusterUnavailable, match=r"^ping the API server: .*read timeout=0\.[23]"):
            kube.ping()
        assert time.monotonic() - started < 1.5, "one attempt, no backoff"


class NotJson(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html>maintenance</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_answer_that_is_not_json_is_a_bad_gateway(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotJson)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        path = kubeconfig(tmp_path / "config", server=f"http://127.0.0.1:{server.server_address[1]}")
        with connect(kubeconfig=path, context=None, retry=NO_RETRY) as kube, pytest.raises(KubernetesError) as raised:
            kube.get_raw("deployment", "shop", "prod")
    finally:
        server.shutdown()
        server.server_close()
    assert raised.value.status == 502
    assert "not a JSON object" in str(raised.value)
    assert "maintenance" in str(raised.value)


def test_unknown_kinds_are_a_programming_error(tmp_path: Path) -> None:
    with (
        connect(kubeconfig=kubeconfig(tmp_path / "config"), context=None) as kube,
        pytest.raises(ValueError, match="unknown kind 'cronjob'"),
    ):
        kube.get_raw("cronjob", "x", "prod")
