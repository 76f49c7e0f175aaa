"""TLS verification is on by default for the paths tests/measure/test_tls.py does not cover: notification
delivery (a real HTTPS receiver on loopback) and Kubernetes (a kubeconfig with insecure-skip-tls-verify is
warned about). Turning verification off for the run is warned about by insecure_warning (tests/settings)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import yaml
from https_loopback import serving_https

from localenv_support import LocalEnv
from rollcheck.kube import connect
from rollcheck.notify._deliver import Sink
from rollcheck.notify._deliver import deliver
from rollcheck.settings import Settings


class _Accepting(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def https_receiver(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A notification receiver on HTTPS with a certificate from a throw-away CA; its URL and the CA file."""
    with serving_https(tmp_path, _Accepting) as (url, ca_file):
        yield url + "/hook/tlssecret", ca_file


def _deliver(url: str, settings: Settings) -> tuple[bool, str | None]:
    sink = Sink(name="webhook", url=url, payload={"verdict": "failed"}, names_host=True)
    outcome = deliver(sink, dataclasses.replace(settings, http_timeout=5), sleep=lambda seconds: None)
    return outcome.delivered, outcome.error


def test_notification_delivery_verifies_the_receivers_certificate(https_receiver: tuple[str, Path]) -> None:
    url, ca_file = https_receiver
    delivered, error = _deliver(url, Settings())
    assert not delivered
    assert error is not None
    assert "CERTIFICATE_VERIFY_FAILED" in error
    assert "tlssecret" not in error
    assert _deliver(url, Settings(ca_file=ca_file)) == (True, None), "with the CA the same receiver is trusted"
    assert _deliver(url, Settings(tls_verify=False)) == (True, None)


def _kubeconfig(localenv: LocalEnv, path: Path, *, skip_verify: bool) -> Path:
    config = yaml.safe_load(localenv.kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    if skip_verify:
        del cluster["certificate-authority"]
        cluster["insecure-skip-tls-verify"] = True
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_kubeconfig_that_skips_tls_verification_is_warned_about(
    localenv: LocalEnv, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    insecure = _kubeconfig(localenv, tmp_path / "insecure", skip_verify=True)
    for _ in range(2):
        with connect(kubeconfig=insecure, context=None) as kube:
            assert kube is not None
    warnings = [line for line in capfd.readouterr().err.splitlines() if "insecure-skip-tls-verify" in line]
    assert warnings == [
        f"rollcheck: warning: kubeconfig {insecure} sets insecure-skip-tls-verify: " + warnings[0].split(": ", 3)[3]
    ]
    assert len(warnings) == 1, "once per process, however often the run connects"


def test_a_kubeconfig_that_verifies_is_not_warned_about(
    localenv: LocalEnv, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    verifying = _kubeconfig(localenv, tmp_path / "verifying", skip_verify=False)
    with connect(kubeconfig=verifying, context=None):
        pass
    assert "insecure-skip-tls-verify" not in capfd.readouterr().err
