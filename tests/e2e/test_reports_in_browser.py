"""The HTML and Allure reports of a real rollback, opened in headless Chromium as a person would see them."""

from __future__ import annotations

import functools
import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from localenv_support import REPO_ROOT
from rollcheck import ExitCode
from rollcheck_runs import Scenario

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=15000",
]


def rendered_dom(url: str, profile: Path) -> str:
    """The page's DOM after its scripts ran (both reports render with JavaScript)."""
    result = subprocess.run(
        ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


@pytest.fixture
def serve() -> Iterator[functools.partial[str]]:
    """Serve a directory on loopback: Allure loads its data with XHR, which file:// URLs forbid."""
    servers: list[ThreadingHTTPServer] = []

    def start(directory: Path) -> str:
        handler = functools.partial(SimpleHTTPRequestHandler, directory=str(directory))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield functools.partial(start)
    for server in servers:
        server.shutdown()
        server.server_close()


def test_html_and_allure_show_the_failed_check_and_the_rollback(
    scenario: Scenario, serve: functools.partial[str], tmp_path: Path
) -> None:
    scenario.deploy("v1")
    scenario.deploy("v2", env={"DEMO_ERROR_RATE": "0.5"})
    run = scenario.run()
    assert run.returncode == ExitCode.FAILED, run.stdout[-3000:]

    html = rendered_dom((run.report_dir / "report.html").as_uri(), tmp_path / "chromium-html")
    assert 'class="rollcheck-summary"' in html
    assert "rolled_back" in html
    assert "test_error_rate.py::test_error_rate" in html
    assert ">Failed<" in html

    allure_report = tmp_path / "allure-report"
    subprocess.run(
        [str(REPO_ROOT / "node_modules" / ".bin" / "allure"), "generate", str(run.report_dir / "allure-results"),
         "-o", str(allure_report), "--clean"],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    base = serve(allure_report)
    overview = rendered_dom(f"{base}/index.html", tmp_path / "chromium-allure")
    assert "rollcheck.rollback" in overview
    assert ">rolled_back<" in overview
    cases = [json.loads(p.read_text()) for p in (allure_report / "data" / "test-cases").glob("*.json")]
    # The confirmation re-run of the failed check is its own attempt; Allure keeps the first as a hidden retry.
    failed = [case["uid"] for case in cases if case["status"] == "failed" and not case["hidden"]]
    assert len(failed) == 1
    assert [case["name"] for case in cases if case["hidden"]] == ["test_error_rate"]
    result_page = rendered_dom(f"{base}/index.html#testresult/{failed[0]}", tmp_path / "chromium-allure-test")
    assert "test_error_rate" in result_page
    assert "error rate" in result_page
    assert "http_requests_total" in result_page, "the measurement step shows the query"
