"""What `rollcheck run` hands to pytest, and the header it prints first (no pytest run here)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rollcheck.checks
from rollcheck import ConfigError
from rollcheck.cli import main
from rollcheck.cli._run import add_run_arguments
from rollcheck.cli._run import builtin_checks_dir
from rollcheck.cli._run import check_paths
from rollcheck.cli._run import header_lines
from rollcheck.cli._run import pytest_arguments
from rollcheck.settings import OPTIONS
from rollcheck.settings import Settings
from rollcheck.settings import resolve


def _given(*argv: str) -> dict[str, object]:
    parser = argparse.ArgumentParser()
    add_run_arguments(parser)
    parsed = parser.parse_args(list(argv))
    return {option.name: getattr(parsed, option.name) for option in OPTIONS}


def _arguments(*argv: str, autoload: bool = True) -> list[str]:
    cli = _given(*argv)
    settings = resolve(cli=cli, environ={}, config_file=None)
    return pytest_arguments(
        cli=cli, settings=settings, paths=["checks"], extra=["-x"], autoload=autoload, rootdir=Path("/work")
    )


def test_given_flags_become_rollcheck_pytest_options() -> None:
    args = _arguments(
        "-t", "deployment/shop", "--window", "2m", "--health-path", "/a", "--health-path", "/b", "--no-rollback"
    )
    assert args[:5] == ["-p", "no:rollcheck", "-p", "rollcheck.plugins", "--rollcheck"]
    assert [arg for arg in args if arg.startswith("--rollcheck-")] == [
        "--rollcheck-target=deployment/shop",
        "--rollcheck-health-path=/a",
        "--rollcheck-health-path=/b",
        "--rollcheck-window=2m",
        "--rollcheck-no-rollback",
    ]
    assert args[-2:] == ["checks", "-x"]


def test_a_value_starting_with_a_dash_stays_a_value() -> None:
    assert "--rollcheck-context=-staging" in _arguments("--context=-staging")


def test_reports_and_timeout_come_from_the_resolved_settings() -> None:
    args = _arguments("--report-dir", "out", "--check-timeout", "1m30s")
    assert "--rootdir=/work" in args
    assert "--junitxml=out/junit.xml" in args
    assert "--html=out/report.html" in args
    assert "--self-contained-html" in args
    assert "--alluredir=out/allure-results" in args
    assert args[args.index("-o") + 1] == "timeout_method=signal"
    assert "--timeout=90" in args


def test_short_tracebacks_unless_the_user_asks_after_the_double_dash() -> None:
    cli = _given()
    settings = resolve(cli=cli, environ={}, config_file=None)
    args = pytest_arguments(
        cli=cli, settings=settings, paths=["checks"], extra=["--tb=long"], autoload=True, rootdir=Path("/work")
    )
    assert args.index("--tb=short") < args.index("--tb=long"), "the user's flag comes later, so it wins"


def test_without_autoload_the_needed_plugins_are_named() -> None:
    assert "-p" not in _arguments()[4:]
    args = _arguments(autoload=False)
    loaded = [args[index + 1] for index, arg in enumerate(args) if arg == "-p"]
    assert loaded == [
        "no:rollcheck",
        "rollcheck.plugins",
        "timeout",
        "metadata",
        "html",
        "html_fixtures",
        "allure_pytest",
    ]


def test_the_builtin_checks_are_the_installed_package() -> None:
    assert builtin_checks_dir() == Path(rollcheck.checks.__file__).parent


def test_the_header_says_what_is_checked_against_what() -> None:
    settings = resolve(
        cli={},
        environ={
            "ROLLCHECK_TARGET": "deployment/shop",
            "ROLLCHECK_NAMESPACE": "prod",
            "ROLLCHECK_BASE_URL": "https://shop.example",
            "ROLLCHECK_PROMETHEUS_URL": "https://prom.example:9090/api?token=abc",
            "ROLLCHECK_WINDOW": "90",
            "ROLLCHECK_DRY_RUN": "1",
        },
        config_file=None,
    )
    title, *rows = header_lines(settings)
    text = "\n".join(rows)
    assert title.endswith(": deployment/shop in namespace prod")
    assert "release URL  https://shop.example" in text
    assert "prometheus   https://prom.example:9090/api\n" in text
    assert "token=abc" not in text
    assert "error rate <= 0.01, p99 <= 500ms, at least 20 requests in 1m30s" in text
    assert "record the rollback plan, change nothing (dry run); inconclusive: fail" in text
    assert "reports      rollcheck-report/" in text


@pytest.mark.parametrize(
    ("changes", "on_failure"),
    [
        ({}, "report only (no target)"),
        ({"target": "deployment/shop"}, "roll back"),
        ({"target": "deployment/shop", "rollback": False}, "report only (rollback is off)"),
    ],
)
def test_the_header_says_what_a_failure_does(changes: dict[str, object], on_failure: str) -> None:
    settings = resolve(cli=changes, environ={}, config_file=None)
    assert any(f"on failure   {on_failure};" in row for row in header_lines(settings))


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without a config file, and no ROLLCHECK_* variables."""
    monkeypatch.chdir(tmp_path)
    for name in [name for name in os.environ if name.startswith("ROLLCHECK_")]:
        monkeypatch.delenv(name)
    return tmp_path


@pytest.mark.usefixtures("elsewhere")
def test_bad_flags_stop_before_pytest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--max-error-rate=2"]) == 4
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "rollcheck: error: --max-error-rate='2' (from command line): must be a number between 0 and 1\n"
    )


@pytest.mark.usefixtures("elsewhere")
def test_bad_prometheus_credentials_stop_before_pytest(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROLLCHECK_PROMETHEUS_USERNAME", "ops")
    assert main(["run", "--window=1m"]) == 4
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "ROLLCHECK_PROMETHEUS_PASSWORD='<unset>' (from environment)" in captured.err


def test_the_settings_default_report_dir_is_used() -> None:
    assert f"--junitxml={Settings().report_dir / 'junit.xml'}" in _arguments()


def test_built_in_checks_run_beside_the_given_paths(tmp_path: Path) -> None:
    mine = tmp_path / "checks"
    mine.mkdir()
    assert check_paths([str(mine)], builtin=True) == [str(builtin_checks_dir()), str(mine)]
    assert check_paths([str(mine)], builtin=False) == [str(mine)]
    assert check_paths([str(builtin_checks_dir())], builtin=True) == [str(builtin_checks_dir())], "each once"


def test_no_built_in_checks_and_no_paths_is_a_usage_error() -> None:
    with pytest.raises(ConfigError, match="--no-builtin-checks"):
        check_paths([], builtin=False)


def test_the_projects_pytest_ini_is_named_even_with_the_built_in_checks_elsewhere(tmp_path: Path) -> None:
    # The built-in checks usually live in site-packages: without -c, pytest would look for its configuration
    # from the common ancestor of everything it is given, find none, and drop the project's settings.
    project = tmp_path / "project"
    (project / "checks").mkdir(parents=True)
    (project / "pytest.ini").write_text("[pytest]\npythonpath = src\n")
    args = pytest_arguments(
        cli=_given(),
        settings=resolve(cli=_given(), environ={}, config_file=None),
        paths=[str(builtin_checks_dir()), "checks"],
        extra=[],
        autoload=True,
        rootdir=project,
        user_paths=["checks"],
    )
    assert args[args.index("-c") + 1] == str(project / "pytest.ini")


def test_pyproject_counts_only_with_a_pytest_table(tmp_path: Path) -> None:
    from rollcheck.cli._pytest_ini import find_pytest_ini

    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert find_pytest_ini([], tmp_path) != tmp_path / "pyproject.toml"
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\naddopts = '-q'\n")
    assert find_pytest_ini([], tmp_path) == tmp_path / "pyproject.toml"


def test_a_team_project_keeps_its_pytest_settings_under_rollcheck_run(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    (project / "src").mkdir(parents=True)
    (project / "checks").mkdir()
    (project / "src" / "shoplib.py").write_text("EXPECTED = 42\n")
    (project / "pytest.ini").write_text("[pytest]\npythonpath = src\n")
    (project / "checks" / "test_own.py").write_text(
        "import shoplib\n\ndef test_own():\n    assert shoplib.EXPECTED == 42\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLCHECK_", "PYTEST_"))}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "rollcheck"), "run", "checks", "--report-dir", str(tmp_path / "report")],
        cwd=project, capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:]
    assert "configfile: pytest.ini" in result.stdout
