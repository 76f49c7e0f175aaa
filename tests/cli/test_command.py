"""The installed `rollcheck` command, run as a user would: in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rollcheck

ROLLCHECK = Path(sys.executable).parent / "rollcheck"
HEAVY = ("kubernetes", "prometheus_api_client", "httpx", "pytest", "_pytest", "requests")


def _environ(**extra: str) -> dict[str, str]:
    environ = {name: value for name, value in os.environ.items() if not name.startswith(("ROLLCHECK_", "PYTEST_"))}
    return {**environ, **extra}


def _rollcheck(*args: str, cwd: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROLLCHECK), *args], cwd=cwd, env=_environ(**environ), capture_output=True, text=True, timeout=120
    )


def test_version(tmp_path: Path) -> None:
    result = _rollcheck("--version", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, f"rollcheck {rollcheck.__version__}\n", "")


def test_python_dash_m_is_the_same_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rollcheck", "--version"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert result.stdout == f"rollcheck {rollcheck.__version__}\n"


@pytest.mark.parametrize("command", [["--version"], ["report", "{report}"]])
def test_version_and_report_import_nothing_heavy(tmp_path: Path, command: list[str]) -> None:
    report = tmp_path / "report.json"
    report.write_text('{"schema_version": 1, "verdict": "passed", "reason": "ok"}')
    argv = [arg.format(report=report) for arg in command]
    probe = (
        "import sys\n"
        "from rollcheck.cli import main\n"
        f"code = main({argv!r})\n"
        f"print(sorted(name for name in sys.modules if name.split('.')[0] in {HEAVY!r}), code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=_environ(), capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-1] == "[] 0"


@pytest.mark.parametrize(
    ("args", "environ", "message"),
    [
        (
            ["run", "--max-error-rate=2"],
            {},
            "--max-error-rate='2' (from command line): must be a number between 0 and 1",
        ),
        (["run"], {"ROLLCHECK_WINDOW": "5x"}, "ROLLCHECK_WINDOW='5x' (from environment): must be a duration"),
        (["run", "--bogus"], {}, "unrecognized arguments: --bogus (see rollcheck --help)"),
        (["run", "--window"], {}, "argument --window: expected one argument (see rollcheck run --help)"),
        ([], {}, "choose a command, run, report or serve"),
        (["report", "missing.json"], {}, "PATH='missing.json' (from command line): no such file"),
    ],
)
def test_usage_errors_exit_4_with_one_line(
    tmp_path: Path, args: list[str], environ: dict[str, str], message: str
) -> None:
    result = _rollcheck(*args, cwd=tmp_path, **environ)
    assert result.returncode == 4
    assert result.stdout == ""
    assert result.stderr.startswith(f"rollcheck: error: {message}")
    assert result.stderr.count("\n") == 1


def test_a_bad_config_file_value_exits_4_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.rollcheck]\nmax-error-rate = 2\n")
    result = _rollcheck("run", cwd=tmp_path)
    assert result.returncode == 4
    assert f"max-error-rate=2 (from {tmp_path / 'pyproject.toml'} [tool.rollcheck])" in result.stderr


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    (tmp_path / "test_release.py").write_text("def test_ok():\n    pass\n")
    return tmp_path


def _assert_reports_written(report_dir: Path) -> None:
    assert (report_dir / "junit.xml").is_file()
    assert (report_dir / "report.html").is_file()
    assert (report_dir / "allure-results").is_dir()


def test_run_prints_the_header_and_writes_the_reports(suite: Path) -> None:
    result = _rollcheck(
        "run", "test_release.py", "--report-dir", "out", "--window", "2m", "--insecure-skip-tls-verify", cwd=suite
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"rollcheck {rollcheck.__version__}: no target")
    assert "at least 20 requests in 2m" in result.stdout
    assert "1 passed" in result.stdout
    assert "rollcheck: warning: TLS certificate verification is off" in result.stderr
    _assert_reports_written(suite / "out")
    assert json.loads((suite / "out" / "report.json").read_text())["verdict"] == "passed"


def test_run_returns_the_exit_code_of_the_checks(suite: Path) -> None:
    (suite / "test_release.py").write_text("def test_bad():\n    assert False\n")
    result = _rollcheck("run", "test_release.py", "--report-dir", "out", cwd=suite)
    assert result.returncode == rollcheck.ExitCode.FAILED, result.stdout + result.stderr


def test_arguments_after_a_double_dash_go_to_pytest(suite: Path) -> None:
    result = _rollcheck("run", "test_release.py", "--report-dir", "out", "--", "-k", "no_such_check", cwd=suite)
    assert result.returncode == rollcheck.ExitCode.NO_CHECKS, result.stdout + result.stderr


def test_run_works_without_plugin_autoloading(suite: Path) -> None:
    result = _rollcheck("run", "test_release.py", "--report-dir", "out", cwd=suite, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in result.stdout.lower()
    _assert_reports_written(suite / "out")


def test_run_works_where_addopts_block_the_plugin(suite: Path) -> None:
    # rollcheck's own repository does this, so that its test session never acts.
    (suite / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = ["-p", "no:rollcheck"]\n')
    result = _rollcheck("run", "test_release.py", "--report-dir", "out", cwd=suite)
    assert result.returncode == 0, result.stdout + result.stderr
