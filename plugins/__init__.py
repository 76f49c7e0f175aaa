"""The rollcheck pytest plugin (entry point `rollcheck`, shipped as `rollcheck.plugins`).

Module-level hooks only register options, markers, hookspecs and fixtures. The session plugin that acts
(`RollcheckSession`) is registered only when rollcheck is enabled: `--rollcheck`, `--rollcheck-target` on the
command line, or ROLLCHECK_TARGET in the environment (what `rollcheck run` does). A target in pyproject.toml
alone never turns rollbacks on in a team's ordinary test runs.
"""

from __future__ import annotations

import typing

import pytest

from . import _configure
from . import _hookspecs
from . import _options
from . import _state

if typing.TYPE_CHECKING:
    from rollcheck.settings import Settings

__all__ = ["settings_of"]


def settings_of(config: pytest.Config) -> Settings | None:
    """The run's resolved settings, or None when rollcheck is not enabled. For `pytest_generate_tests` and other
    hooks that run before fixtures exist (fixtures use `rollcheck_settings`)."""
    return config.stash.get(_state.SETTINGS_KEY, None)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(_hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    _options.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    _configure.configure(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    _configure.unconfigure(config)
