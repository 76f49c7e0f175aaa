"""What the plugin imports: a team's ordinary pytest run (rollcheck installed, not enabled) loads only its options,
markers and fixtures, and an enabled run loads a client only when a check asks for it. Each run is a real pytest
subprocess with only rollcheck and pytest-timeout loaded, so no other plugin's imports count."""

from __future__ import annotations

import pytest

from rollcheck import ExitCode

# Writes the modules loaded by the end of the run (after rollcheck's finish) where the test can read them.
RECORD_MODULES = """
import sys
from pathlib import Path

def pytest_unconfigure(config):
    Path("modules.txt").write_text("\\n".join(sorted(sys.modules)))
"""

NO_FIXTURES = """
def test_ok():
    assert True
"""

CLIENT_LIBRARIES = ("kubernetes", "prometheus_api_client", "scipy", "allure", "jinja2")
SESSION_MODULES = (
    "rollcheck.plugins._session",
    "rollcheck.plugins._finish",
    "rollcheck.plugins._confirm",
    "rollcheck.plugins._integrations",
    "rollcheck.plugins._watch_rounds",
    "rollcheck.measure",
)


def _loaded(rollcheck_tester, *args: str) -> set[str]:
    pytester = rollcheck_tester.pytester
    pytester.makeconftest(RECORD_MODULES)
    pytester.makepyfile(test_no_fixtures=NO_FIXTURES)
    run = rollcheck_tester.run("-p", "timeout", *args)
    assert run.result.ret == ExitCode.PASSED, run.result.stdout.str()
    return set((pytester.path / "modules.txt").read_text().split())


@pytest.fixture
def only_rollcheck(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.mark.usefixtures("only_rollcheck")
def test_a_run_without_rollcheck_enabled_loads_no_session_machinery(rollcheck_tester) -> None:
    loaded = _loaded(rollcheck_tester)
    assert "rollcheck.plugins._fixtures" in loaded, "the fixtures are registered in every run"
    assert sorted(loaded & {*SESSION_MODULES, "httpx", "rollcheck.act"}) == []
    assert sorted(name for name in loaded if name.split(".")[0] in CLIENT_LIBRARIES) == []


@pytest.mark.usefixtures("only_rollcheck")
def test_an_enabled_run_of_checks_without_fixtures_loads_no_client(rollcheck_tester) -> None:
    loaded = _loaded(rollcheck_tester, "--rollcheck")
    assert (rollcheck_tester.report_dir / "report.json").is_file()
    assert "rollcheck.plugins._finish" in loaded, "the run was finished"
    assert sorted(loaded & {"rollcheck.measure", "rollcheck.plugins._watch_rounds", "httpx"}) == [], "nothing notified"
    assert sorted(name for name in loaded if name.split(".")[0] in CLIENT_LIBRARIES) == []


def test_the_http_fixture_loads_httpx_when_asked_for(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(
        """
        import sys

        def test_uses_http(http):
            assert "httpx" in sys.modules
            assert type(http).__module__.startswith("httpx")
        """
    )
    run = rollcheck_tester.run("--rollcheck", "--rollcheck-base-url=http://127.0.0.1:9")
    run.result.assert_outcomes(passed=1)
