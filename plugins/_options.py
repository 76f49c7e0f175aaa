"""The plugin's command-line options, and the one place where the pytest side turns them into Settings."""

from __future__ import annotations

import os

import pytest

from rollcheck._errors import ConfigError
from rollcheck.settings import OPTIONS
from rollcheck.settings import PYTEST_PREFIX
from rollcheck.settings import Settings
from rollcheck.settings import find_config_file
from rollcheck.settings import resolve

__all__ = ["add_options", "plugin_enabled", "settings_from_pytest"]

_ENABLE_DEST = "rollcheck"


def _dest(field_name: str) -> str:
    # Prefixed, so a field such as `context` or `target` cannot collide with another plugin's option.
    return f"rollcheck_{field_name}"


def add_options(parser: pytest.Parser) -> None:
    """Register `--rollcheck` and every `--rollcheck-*` option in the "rollcheck" group."""
    group = parser.getgroup("rollcheck", "rollcheck: post-deploy checks with rollback")
    group.addoption(
        "--rollcheck",
        action="store_true",
        dest=_ENABLE_DEST,
        default=False,
        help="Enable rollcheck for this run even without --rollcheck-target (the target then comes from "
        "ROLLCHECK_TARGET or [tool.rollcheck]).",
    )
    for option in OPTIONS:
        flags, kwargs = option.argparse_arguments(prefix=PYTEST_PREFIX, dest=_dest(option.name), with_short=False)
        group.addoption(*flags, **kwargs)


def plugin_enabled(config: pytest.Config) -> bool:
    """Should rollcheck act in this run: `--rollcheck` or `--rollcheck-target` given, or ROLLCHECK_TARGET set?

    A target in [tool.rollcheck] alone does not count. The file supplies defaults for runs that ask for
    rollcheck, and a team's ordinary `pytest` run in the same repository must never roll a release back.
    """
    return bool(
        config.getoption(_ENABLE_DEST)
        or config.getoption(_dest("target")) is not None
        or os.environ.get("ROLLCHECK_TARGET", "").strip()
    )


def any_option_given(config: pytest.Config) -> bool:
    """Was any `--rollcheck-*` value given on the command line?"""
    return any(config.getoption(_dest(option.name)) is not None for option in OPTIONS)


def settings_from_pytest(config: pytest.Config) -> Settings:
    """The run's Settings from the `--rollcheck-*` options, ROLLCHECK_* and the config file found upwards
    from the rootdir. A bad value is a usage error: pytest exits 4 with the message and no traceback."""
    cli = {option.name: config.getoption(_dest(option.name)) for option in OPTIONS}
    try:
        return resolve(
            cli=cli,
            environ=os.environ,
            config_file=find_config_file(config.rootpath),
            cli_prefix=PYTEST_PREFIX,
        )
    except ConfigError as error:
        raise pytest.UsageError(str(error)) from None
