from __future__ import annotations

import argparse
import dataclasses

import pytest

from rollcheck.settings import OPTIONS
from rollcheck.settings import OPTIONS_BY_NAME
from rollcheck.settings import Kind
from rollcheck.settings import Settings


def test_every_settings_field_has_exactly_one_option() -> None:
    assert [option.name for option in OPTIONS] == [field.name for field in dataclasses.fields(Settings)]


def test_flags_and_variables_are_unique() -> None:
    flags = [option.flag for option in OPTIONS]
    shorts = [option.short for option in OPTIONS if option.short]
    assert len(set(flags)) == len(flags)
    assert len(set(shorts)) == len(shorts)
    assert len({option.env_var for option in OPTIONS}) == len(OPTIONS)


@pytest.mark.parametrize(
    ("name", "flag", "env_var", "config_key", "kind"),
    [
        ("target", "target", "ROLLCHECK_TARGET", "target", Kind.VALUE),
        ("max_error_rate", "max-error-rate", "ROLLCHECK_MAX_ERROR_RATE", "max-error-rate", Kind.VALUE),
        ("health_paths", "health-path", "ROLLCHECK_HEALTH_PATHS", "health-paths", Kind.REPEATABLE),
        ("expect_images", "expect-image", "ROLLCHECK_EXPECT_IMAGES", "expect-images", Kind.REPEATABLE),
        ("tls_verify", "insecure-skip-tls-verify", "ROLLCHECK_TLS_VERIFY", "tls-verify", Kind.SWITCH_OFF),
        ("rollback", "no-rollback", "ROLLCHECK_ROLLBACK", "rollback", Kind.SWITCH_OFF),
        ("dry_run", "dry-run", "ROLLCHECK_DRY_RUN", "dry-run", Kind.SWITCH_ON),
        ("on_inconclusive", "on-inconclusive", "ROLLCHECK_ON_INCONCLUSIVE", "on-inconclusive", Kind.VALUE),
    ],
)
def test_each_option_is_spelled_from_its_field(name: str, flag: str, env_var: str, config_key: str, kind: Kind) -> None:
    option = OPTIONS_BY_NAME[name]
    assert (option.flag, option.env_var, option.config_key, option.kind) == (flag, env_var, config_key, kind)


def test_the_default_of_every_option_parses_back_to_itself() -> None:
    # The help shows each default the way a user would write it; writing it so must give the same value.
    defaults = Settings()
    for option in OPTIONS:
        default = getattr(defaults, option.name)
        if default is None or isinstance(default, bool):
            continue
        shown = option.describe(default)
        assert option.parse(shown if option.kind is not Kind.REPEATABLE else list(default)) == default, option.name


def _parsed_with(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    for option in OPTIONS:
        flags, kwargs = option.argparse_arguments(prefix="--", dest=option.name, with_short=True)
        parser.add_argument(*flags, **kwargs)
    return parser.parse_args(list(argv))


def test_argparse_arguments_leave_what_was_not_given_as_none() -> None:
    parsed = _parsed_with()
    assert all(getattr(parsed, option.name) is None for option in OPTIONS)


def test_argparse_arguments_give_raw_values_lists_and_switch_values() -> None:
    parsed = _parsed_with(
        "-t", "deployment/shop", "--health-path", "/a", "--health-path", "/b", "--no-rollback", "--dry-run"
    )
    assert parsed.target == "deployment/shop"
    assert parsed.health_paths == ["/a", "/b"]
    assert parsed.rollback is False
    assert parsed.dry_run is True


def test_help_texts_name_the_variable_and_survive_percent_formatting() -> None:
    parser = argparse.ArgumentParser()
    for option in OPTIONS:
        flags, kwargs = option.argparse_arguments(prefix="--", dest=option.name, with_short=True)
        parser.add_argument(*flags, **kwargs)
    text = " ".join(parser.format_help().split())
    assert "[ROLLCHECK_MAX_ERROR_RATE]" in text
    assert "Default: 1m." in text  # the window, shown as a duration
    assert all(option.help.strip() for option in OPTIONS)


def test_only_measurement_options_can_be_set_per_check() -> None:
    per_check = {option.name for option in OPTIONS if option.per_check}
    assert {"max_error_rate", "window", "health_paths", "selector"} <= per_check
    assert not {"target", "namespace", "rollback", "dry_run", "report_dir", "prometheus_url"} & per_check
