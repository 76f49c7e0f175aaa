"""Every option's parser, fed any string through the environment or any TOML value through a config file: the
value is read or refused with ConfigError naming the option and its source (a secret option's value never
shown), never another exception; and what an option shows of a value reads back as the same value.
tests/settings/test_properties.py fuzzes whole environments and tables; this goes option by option."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis_settings import bounded as whole_folder

from rollcheck import ConfigError
from rollcheck.settings import OPTIONS
from rollcheck.settings import ConfigFile
from rollcheck.settings import Option
from rollcheck.settings import Settings
from rollcheck.settings import resolve

# Fewer examples per option than elsewhere: there are some fifty options, each with three properties.
bounded = settings(whole_folder, max_examples=40)
TEXT = st.text(max_size=40) | st.sampled_from(
    ["90s", "1e999", "nan", "-0", "0x10", "https://u:p@h", "a" * 80, "~0", "~nosuchuser/x"]
)
TOML = st.recursive(
    TEXT | st.integers() | st.floats() | st.booleans(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=2),
    max_leaves=4,
)


def _resolved_or_refused(option: Option, raw: object, where: str, call: object) -> Settings | None:
    assert callable(call)
    try:
        settings = call()
    except ConfigError as error:
        refusal = error
    else:
        assert isinstance(settings, Settings)
        return settings
    assert refusal.option == where, f"{option.name}: the error names {refusal.option}, not {where}"
    assert refusal.problem
    # A value of a few characters could be part of the message's own words; a secret is longer than that.
    if option.secret and isinstance(raw, str) and len(raw.strip()) >= 6:
        assert raw.strip() not in str(refusal), f"{option.name}'s value was shown"
    return None


@pytest.mark.parametrize("option", OPTIONS, ids=lambda option: option.name)
@bounded
@given(raw=TEXT)
def test_any_string_in_the_environment_is_read_or_refused_naming_the_variable(option: Option, raw: str) -> None:
    _resolved_or_refused(
        option, raw, option.env_var, lambda: resolve(cli={}, environ={option.env_var: raw}, config_file=None)
    )


@pytest.mark.parametrize("option", OPTIONS, ids=lambda option: option.name)
@bounded
@given(raw=TOML)
def test_any_toml_value_in_a_file_is_read_or_refused_naming_the_key(option: Option, raw: object) -> None:
    config = ConfigFile(path=Path("/nonexistent/rollcheck.toml"), table={option.config_key: raw}, section=None)
    _resolved_or_refused(option, raw, option.config_key, lambda: resolve(cli={}, environ={}, config_file=config))


# Path options are checked against the file system and list options show as one text; the rest round-trip.
ROUND_TRIP = [option for option in OPTIONS if option.metavar not in {"FILE", "DIR"} and not option.secret]


@pytest.mark.parametrize("option", ROUND_TRIP, ids=lambda option: option.name)
@bounded
@given(raw=TEXT)
def test_what_an_option_shows_reads_back_as_the_same_value(option: Option, raw: str) -> None:
    try:
        value = option.parse(raw)
    except ValueError:
        return
    if isinstance(value, tuple):
        return
    assert option.parse(option.show(value)) == value
