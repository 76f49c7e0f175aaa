"""Every option written in `[tool.rollcheck]` with a TOML type it cannot take, and unknown keys, through the real
file reader and the real command: one ConfigError (a one-line usage error, exit 4) naming the key, the value
and the file, never a traceback or another exception."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from localenv_support import REPO_ROOT
from rollcheck import ConfigError
from rollcheck import ExitCode
from rollcheck.settings import OPTIONS
from rollcheck.settings import Kind
from rollcheck.settings import find_config_file
from rollcheck.settings import resolve

# TOML values no option takes: a table, a date-time, an array of tables, a nested array. A switch also refuses
# a number; a single-valued option also refuses an array.
NO_OPTION_TAKES = ["{ a = 1 }", "1979-05-27T07:32:00Z", "[{ a = 1 }]", "[[1], [2]]"]
CASES = [
    (option.config_key, literal)
    for option in OPTIONS
    for literal in [
        *NO_OPTION_TAKES,
        *(["2"] if option.kind in (Kind.SWITCH_ON, Kind.SWITCH_OFF) else []),
        *(['["a", "b"]'] if option.kind is not Kind.REPEATABLE else []),
    ]
]


@pytest.mark.parametrize(("key", "literal"), CASES)
def test_a_value_of_the_wrong_toml_type_is_a_config_error_naming_key_and_file(
    tmp_path: Path, key: str, literal: str
) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f"[tool.rollcheck]\n{key} = {literal}\n")
    config_file = find_config_file(tmp_path)
    assert config_file is not None

    with pytest.raises(ConfigError) as caught:
        resolve(cli={}, environ={}, config_file=config_file)

    error = caught.value
    assert error.option == key
    assert str(pyproject) in error.source
    assert "\n" not in str(error)


def test_cases_cover_every_option() -> None:
    assert {key for key, _ in CASES} == {option.config_key for option in OPTIONS}


@pytest.mark.parametrize(
    ("written", "suggested"),
    [("max-eror-rate", "max-error-rate"), ("rollout_timout", "rollout_timeout"), ("prometheus-ur", "prometheus-url")],
)
def test_an_unknown_key_stops_rollcheck_run_with_one_line_suggesting_the_closest(
    tmp_path: Path, written: str, suggested: str
) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f'[tool.rollcheck]\n{written} = "1"\n')

    result = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "rollcheck"), "run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == ExitCode.USAGE_ERROR
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"rollcheck: error: {written}='1' (from {pyproject} [tool.rollcheck]): ")
    assert f"did you mean '{suggested}'?" in result.stderr
