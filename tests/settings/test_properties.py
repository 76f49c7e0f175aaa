"""Whatever a user puts in a variable, a file or a marker, the resolver answers with Settings or ConfigError."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from rollcheck import ConfigError
from rollcheck.settings import OPTIONS
from rollcheck.settings import SECRET_URL_FILES
from rollcheck.settings import ConfigFile
from rollcheck.settings import Option
from rollcheck.settings import Settings
from rollcheck.settings import resolve
from rollcheck.settings import with_marker_overrides

ENV_VARS = [option.env_var for option in OPTIONS]
CONFIG_KEYS = [option.config_key for option in OPTIONS] + [option.name for option in OPTIONS]
PER_CHECK = [option.name for option in OPTIONS if option.per_check]
# Relative paths in a file are relative to the file, so these differ between the two sources on purpose.
PATH_OPTIONS = {"kubeconfig", "ca_file", "report_dir", *SECRET_URL_FILES.values()}

# Values a user might plausibly write, plus junk.
TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["90s", "1m30s", "0", "-1", "0.5", "yes", "deployment/shop", "/health", 'app="x"', "{x}"]),
)
TOML_VALUES = st.recursive(
    st.one_of(TEXT, st.integers(), st.floats(), st.booleans()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=2),
    max_leaves=5,
)


def _resolves_or_explains(call: Callable[[], Settings]) -> None:
    try:
        settings = call()
    except ConfigError as error:
        problem = error.problem
    else:
        assert isinstance(settings, Settings)
        return
    assert problem


@given(st.dictionaries(st.sampled_from(ENV_VARS), TEXT, max_size=6))
def test_random_environment_values_never_raise_anything_but_config_error(environ: dict[str, str]) -> None:
    _resolves_or_explains(lambda: resolve(cli={}, environ=environ, config_file=None))


@given(st.dictionaries(st.sampled_from(CONFIG_KEYS) | st.text(max_size=12), TOML_VALUES, max_size=5))
def test_random_config_tables_never_raise_anything_but_config_error(table: dict[str, object]) -> None:
    config = ConfigFile(path=Path("/nonexistent/pyproject.toml"), table=table, section="[tool.rollcheck]")
    _resolves_or_explains(lambda: resolve(cli={}, environ={}, config_file=config))


@given(st.dictionaries(st.sampled_from(PER_CHECK) | st.text(max_size=12), TOML_VALUES, max_size=4))
def test_random_marker_overrides_never_raise_anything_but_config_error(overrides: dict[str, object]) -> None:
    _resolves_or_explains(lambda: with_marker_overrides(Settings(), overrides, "marker on t.py::t"))


@given(st.sampled_from([option for option in OPTIONS if option.name not in PATH_OPTIONS]), TEXT)
def test_a_value_from_the_environment_means_the_same_in_a_file(option: Option, raw: str) -> None:
    try:
        from_environment = resolve(cli={}, environ={option.env_var: raw}, config_file=None)
    except ConfigError:
        return
    if raw.strip():  # an empty variable means unset, while an empty string in a file is a (bad) value
        config = ConfigFile(path=Path("/nonexistent/rollcheck.toml"), table={option.config_key: raw}, section=None)
        from_file = resolve(cli={}, environ={}, config_file=config)
        assert getattr(from_file, option.name) == getattr(from_environment, option.name)
