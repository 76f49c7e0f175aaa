"""The session's connection: opened once, pinged on one kept-alive connection while open, closed once, and not
even imported into until it is opened. The API server here is a small HTTP/1.1 server of the test's own, so
the pings can be counted and made to fail; tests/act/test_carry_out.py uses the real one."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from localenv_support import REPO_ROOT
from localenv_support import eventually
from rollcheck.act import SessionConnection
from rollcheck.kube import KubeconfigError
from rollcheck.settings import Settings
from rollcheck.target import TargetRef


class _VersionEndpoint(BaseHTTPRequestHandler):
    """Answers GET /version with `answer_status`, keeping the connection open as an API server does."""

    protocol_version = "HTTP/1.1"
    server: _CountingServer

    def do_GET(self) -> None:
        self.server.seen.append((self.path, self.client_address[1]))
        body = json.dumps({"major": "1", "minor": "33"}).encode()
        self.send_response(self.server.answer_status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


class _CountingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer_status: int) -> None:
        super().__init__(("127.0.0.1", 0), _VersionEndpoint)
        self.answer_status = answer_status
        self.seen: list[tuple[str, int]] = []
        """(path, client port) of every request, in order."""


@pytest.fixture(params=[200, 500], ids=["answering", "failing"])
def api_server(request: pytest.FixtureRequest) -> Iterator[_CountingServer]:
    server = _CountingServer(request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _settings(tmp_path: Path, server: str) -> Settings:
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "session-token"}}],
        "contexts": [{"name": "ci", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ci",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(document))
    return Settings(target=TargetRef.parse("deployment/shop"), namespace="prod", kubeconfig=path)


def _url(server: _CountingServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_open_connects_once_and_close_ends_it(tmp_path: Path, api_server: _CountingServer) -> None:
    connection = SessionConnection(_settings(tmp_path, _url(api_server)), keepalive_seconds=60)
    assert connection.kube is None

    kube = connection.open()
    assert connection.open() is kube
    assert connection.kube is kube
    connection.close()
    connection.close()

    assert connection.kube is None
    with pytest.raises(RuntimeError, match="closed"):
        connection.open()
    assert api_server.seen == [], "nothing is sent before the first keepalive is due"


def test_an_open_connection_pings_on_one_connection_until_closed(tmp_path: Path, api_server: _CountingServer) -> None:
    # A failing answer (500) keeps the connection open just the same, and must not stop the keepalive.
    connection = SessionConnection(_settings(tmp_path, _url(api_server)), keepalive_seconds=0.05)
    connection.open()
    eventually(lambda: len(api_server.seen) >= 3, timeout=10, what="three keepalive pings", interval=0.05)
    connection.close()
    pinged = len(api_server.seen)
    time.sleep(0.2)

    assert len(api_server.seen) == pinged, "no ping after close"
    assert {path for path, _ in api_server.seen} == {"/version"}
    assert len({port for _, port in api_server.seen}) == 1, "every ping reused the one warm connection"


def test_an_unreachable_server_only_costs_the_pings(tmp_path: Path) -> None:
    with _CountingServer(200) as closed:
        url = _url(closed)  # a port that was just free: nothing listens there now
    connection = SessionConnection(_settings(tmp_path, url), keepalive_seconds=0.01)
    connection.open()
    time.sleep(0.1)  # ten pings' worth, each refused

    assert _keepalives(), "the keepalive goes on after refused pings"
    assert connection.kube is not None, "and the connection stays usable: the next request connects again"
    connection.close()
    assert not _keepalives()
    assert connection.kube is None


def _keepalives() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "rollcheck-keepalive"]


def test_bad_credentials_are_raised_and_leave_nothing_open(tmp_path: Path) -> None:
    settings = Settings(target=TargetRef.parse("deployment/shop"), kubeconfig=tmp_path / "missing")
    connection = SessionConnection(settings)

    with pytest.raises(KubeconfigError, match=f"kubeconfig {tmp_path / 'missing'} does not exist"):
        connection.open()
    assert connection.kube is None
    assert not _keepalives()


def test_the_kubernetes_client_is_not_imported_before_open() -> None:
    program = (
        "import sys\n"
        "from rollcheck.act import SessionConnection\n"
        "from rollcheck.settings import Settings\n"
        "SessionConnection(Settings()).close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'urllib3')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
