"""Precedence (marker > command line > environment > config file > default) and config-file discovery."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rollcheck import ConfigError
from rollcheck.settings import ConfigFile
from rollcheck.settings import Settings
from rollcheck.settings import find_config_file
from rollcheck.settings import resolve
from rollcheck.settings import with_marker_overrides
from rollcheck.target import TargetRef

PYPROJECT = """
[project]
name = "shop"

[tool.rollcheck]
max-error-rate = 0.05
window = "2m"
namespace = "from-file"
health_paths = ["/health", "/ready"]
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _resolve_here(environ: dict[str, str] | None = None, **cli: object) -> Settings:
    return resolve(cli=cli, environ=environ or {}, config_file=find_config_file(Path.cwd()))


def test_nothing_given_is_the_defaults() -> None:
    assert resolve(cli={}, environ={}, config_file=None) == Settings()


def test_the_config_file_beats_the_defaults(project: Path) -> None:
    settings = _resolve_here()
    assert settings.max_error_rate == 0.05
    assert settings.window == 120.0
    assert settings.namespace == "from-file"
    assert settings.health_paths == ("/health", "/ready")
    assert settings.min_requests == Settings().min_requests


def test_the_environment_beats_the_config_file(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLLCHECK_MAX_ERROR_RATE", "0.02")
    monkeypatch.setenv("ROLLCHECK_HEALTH_PATHS", "/livez,/readyz")
    settings = resolve(cli={}, environ=os.environ, config_file=find_config_file(Path.cwd()))
    assert settings.max_error_rate == 0.02
    assert settings.health_paths == ("/livez", "/readyz")
    assert settings.window == 120.0  # still from the file


def test_the_command_line_beats_the_environment(project: Path) -> None:
    settings = _resolve_here(
        {"ROLLCHECK_MAX_ERROR_RATE": "0.02", "ROLLCHECK_TARGET": "deployment/env"},
        max_error_rate="0.03",
        health_paths=["/only"],
        target=None,  # not given: the environment's value stays
    )
    assert settings.max_error_rate == 0.03
    assert settings.health_paths == ("/only",)
    assert settings.target == TargetRef.parse("deployment/env")


def test_a_marker_beats_the_command_line(project: Path) -> None:
    settings = _resolve_here(max_error_rate="0.03")
    assert with_marker_overrides(settings, {"max_error_rate": 0.2}, "marker on t.py::t").max_error_rate == 0.2


def test_switch_flags_set_their_field(project: Path) -> None:
    settings = _resolve_here({"ROLLCHECK_ROLLBACK": "yes"}, rollback=False, tls_verify=False, dry_run=True)
    assert (settings.rollback, settings.tls_verify, settings.dry_run) == (False, False, True)


def test_dry_run_with_rollback_off_is_accepted() -> None:
    settings = resolve(cli={"dry_run": True}, environ={"ROLLCHECK_ROLLBACK": "0"}, config_file=None)
    assert settings.dry_run is True
    assert settings.rollback is False


def test_an_empty_variable_counts_as_unset() -> None:
    assert resolve(cli={}, environ={"ROLLCHECK_TARGET": "", "ROLLCHECK_WINDOW": "  "}, config_file=None) == Settings()


def test_unrelated_rollcheck_variables_are_ignored() -> None:
    environ = {"ROLLCHECK_PROMETHEUS_TOKEN": "t", "ROLLCHECK_COMMIT": "abc", "ROLLCHECK_WHATEVER": "x"}
    assert resolve(cli={}, environ=environ, config_file=None) == Settings()


def test_relative_paths_in_a_file_are_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("")
    config = ConfigFile(
        path=tmp_path / "rollcheck.toml", table={"ca-file": "ca.pem", "report-dir": "out"}, section=None
    )
    settings = resolve(cli={}, environ={}, config_file=config)
    assert settings.ca_file == tmp_path / "ca.pem"
    assert settings.report_dir == tmp_path / "out"


def test_relative_paths_on_the_command_line_stay_relative() -> None:
    assert resolve(cli={"report_dir": "out"}, environ={}, config_file=None).report_dir == Path("out")


def test_strings_in_a_file_are_parsed_like_flags(tmp_path: Path) -> None:
    table = {"max-error-rate": "0.1", "health-attempts": "7", "dry-run": "yes", "expect-images": "a:1,b:2"}
    settings = resolve(cli={}, environ={}, config_file=ConfigFile(path=tmp_path / "x.toml", table=table, section=None))
    assert (settings.max_error_rate, settings.health_attempts, settings.dry_run) == (0.1, 7, True)
    assert settings.expect_images == ("a:1", "b:2")


def test_discovery_walks_up_from_the_start(project: Path) -> None:
    nested = project / "a" / "b"
    nested.mkdir(parents=True)
    found = find_config_file(nested)
    assert found is not None
    assert found.path == project / "pyproject.toml"
    assert found.section == "[tool.rollcheck]"
    assert found.source == f"{project / 'pyproject.toml'} [tool.rollcheck]"


def test_a_pyproject_without_the_table_is_passed_by(project: Path) -> None:
    inner = project / "inner"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "inner"\n')
    found = find_config_file(inner)
    assert found is not None
    assert found.path == project / "pyproject.toml"


def test_rollcheck_toml_wins_over_pyproject_in_the_same_directory(project: Path) -> None:
    (project / "rollcheck.toml").write_text("window = 30\n")
    found = find_config_file(project)
    assert found is not None
    assert (found.path.name, found.section, dict(found.table)) == ("rollcheck.toml", None, {"window": 30})


def test_rollcheck_toml_may_use_a_tool_table(tmp_path: Path) -> None:
    (tmp_path / "rollcheck.toml").write_text("[tool.rollcheck]\nwindow = 30\n")
    found = find_config_file(tmp_path)
    assert found is not None
    assert (found.section, dict(found.table)) == ("[tool.rollcheck]", {"window": 30})


def test_rollcheck_toml_with_both_forms_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "rollcheck.toml").write_text("window = 10\n[tool.rollcheck]\nwindow = 30\n")
    with pytest.raises(ConfigError, match=r"either top-level options or a \[tool.rollcheck\] table"):
        find_config_file(tmp_path)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.rollcheck\nwindow = \n")
    with pytest.raises(ConfigError) as caught:
        find_config_file(tmp_path)
    assert caught.value.value == str(tmp_path / "pyproject.toml")
    assert "cannot be read" in caught.value.problem


def test_a_tool_rollcheck_that_is_not_a_table_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool]\nrollcheck = "yes"\n')
    with pytest.raises(ConfigError, match="must be a table"):
        find_config_file(tmp_path)
