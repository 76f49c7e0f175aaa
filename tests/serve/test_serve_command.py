"""`rollcheck serve` as a user starts it: in a subprocess, refusing to start unsafe or with bad flags."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from serve_support import TOKEN

ROLLCHECK = Path(sys.executable).parent / "rollcheck"


def _environ(**extra: str) -> dict[str, str]:
    environ = {name: value for name, value in os.environ.items() if not name.startswith(("ROLLCHECK_", "PYTEST_"))}
    return {**environ, **extra}


def _refused(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROLLCHECK), "serve", *args], cwd=cwd, env=_environ(), capture_output=True, text=True, timeout=60
    )


@dataclass
class Served:
    """A `rollcheck serve` process: where it listens, and after it stopped, its exit status and output."""

    url: str = ""
    returncode: int | None = None
    output: str = ""


@contextmanager
def _serving(*args: str, cwd: Path, **environ: str) -> Iterator[Served]:
    """A running `rollcheck serve --listen 127.0.0.1:0 …`, stopped with SIGTERM afterwards."""
    served = Served()
    command = [str(ROLLCHECK), "serve", "--listen=127.0.0.1:0", f"--report-dir={cwd / 'reports'}", *args]
    with subprocess.Popen(
        command, cwd=cwd, env=_environ(**environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()  # the first line says where it listens
            assert "listening on http://127.0.0.1:" in line, line
            served.url = line.split("listening on ", 1)[1].split(" ", 1)[0]
            yield served
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            stdout, stderr = process.communicate(timeout=30)
            served.returncode, served.output = process.returncode, line + stdout + stderr


def test_it_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    result = _refused(cwd=tmp_path)
    assert result.returncode == 4
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "a bearer token is required" in line
    assert "ROLLCHECK_SERVE_TOKEN" in line
    assert "--no-auth" in line


def test_a_bad_listen_value_is_a_one_line_usage_error(tmp_path: Path) -> None:
    for value, problem in (("localhost", "expected HOST:PORT"), ("127.0.0.1:70000", "port '70000'")):
        result = _refused(f"--listen={value}", "--no-auth", cwd=tmp_path)
        assert result.returncode == 4
        [line] = result.stderr.splitlines()
        assert "--listen" in line
        assert problem in line


def test_a_suite_timeout_must_be_positive(tmp_path: Path) -> None:
    result = _refused("--suite-timeout=0", "--no-auth", cwd=tmp_path)
    assert result.returncode == 4
    [line] = result.stderr.splitlines()
    assert "--suite-timeout" in line
    assert "must be a positive duration" in line


def test_an_empty_token_file_or_a_token_with_no_auth_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty-token"
    empty.write_text("\n")
    result = _refused(f"--token-file={empty}", cwd=tmp_path)
    assert (result.returncode, "the file is empty" in result.stderr) == (4, True)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    result = _refused(f"--token-file={token_file}", "--no-auth", cwd=tmp_path)
    assert result.returncode == 4
    assert "contradicts the token given by --token-file" in result.stderr
    assert TOKEN not in result.stderr


def test_no_auth_is_explicit_and_warned_about(tmp_path: Path) -> None:
    with _serving("--no-auth", cwd=tmp_path) as served:
        assert httpx.get(f"{served.url}/healthz", timeout=5).text == "ok\n"
        nothing = {"version": "4", "alerts": []}
        assert httpx.post(f"{served.url}/alertmanager", json=nothing, timeout=5).status_code == 200
    assert served.returncode == 0
    assert "warning: --no-auth: anyone who can reach this port can trigger rollbacks" in served.output
    assert "POST /flagger/check is off (404): no --flagger-suite was given" in served.output
    assert "rollcheck serve: stopped" in served.output


def test_the_token_from_the_environment_is_required_and_never_shown(tmp_path: Path) -> None:
    with _serving(cwd=tmp_path, ROLLCHECK_SERVE_TOKEN=TOKEN) as served:
        url = served.url
        body = {"version": "4", "alerts": []}
        assert httpx.post(f"{url}/alertmanager", json=body, timeout=5).status_code == 401
        authorised = httpx.post(
            f"{url}/alertmanager", json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
        )
        assert authorised.status_code == 200
        assert TOKEN not in httpx.get(f"{url}/metrics", timeout=5).text
    assert served.returncode == 0
    assert "POST /alertmanager 401" in served.output
    assert TOKEN not in served.output
