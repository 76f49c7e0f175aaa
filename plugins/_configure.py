"""What `pytest_configure` does: markers and fixtures always; the session plugin and the report integrations
only when rollcheck is enabled, and the side-effecting ones only on the xdist controller.

The session's modules (the finish, the watch, the integrations) are imported only once rollcheck is enabled: a
team's ordinary pytest run, with rollcheck installed but off, loads only the options, markers and fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rollcheck import ConfigError
from rollcheck.settings import Settings
from rollcheck.settings import secrets_from_env

from . import _fixtures
from ._markers import MARKERS
from ._options import any_option_given
from ._options import plugin_enabled
from ._options import settings_from_pytest
from ._state import PROMETHEUS_AUTH_KEY
from ._state import SETTINGS_KEY

__all__ = ["SESSION_PLUGIN_NAME", "configure", "unconfigure"]

SESSION_PLUGIN_NAME = "rollcheck-session"
_REGISTERED = (
    SESSION_PLUGIN_NAME,
    "rollcheck-html",
    "rollcheck-allure",
    "rollcheck-allure-steps",
    "rollcheck-xdist",
    "rollcheck-fixtures",
    "rollcheck-confirm",
    "rollcheck-watch",
)


def configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    config.pluginmanager.register(_fixtures, "rollcheck-fixtures")
    if not plugin_enabled(config):
        if any_option_given(config):
            settings_from_pytest(config)  # still a usage error (exit 4) if a value given on the command line is bad
        return
    settings = settings_from_pytest(config)
    if config.option.collectonly:
        return  # listing checks is not a run: nothing is read, decided or written
    config.stash[SETTINGS_KEY] = settings
    try:
        config.stash[PROMETHEUS_AUTH_KEY] = secrets_from_env(os.environ)
    except ConfigError as error:
        raise pytest.UsageError(str(error)) from None
    _register_session_plugins(config, settings)


def _register_session_plugins(config: pytest.Config, settings: Settings) -> None:
    from ._confirm import Confirmation
    from ._integrations import AllureReport
    from ._integrations import AllureSteps
    from ._integrations import HtmlSummary
    from ._release_reading import XdistHandoff
    from ._session import RollcheckSession
    from ._session import is_controller

    session = RollcheckSession(config, settings)
    config.pluginmanager.register(session, SESSION_PLUGIN_NAME)
    # On every process that runs checks (xdist workers too): that is where a failed check is re-run.
    config.pluginmanager.register(Confirmation(settings), "rollcheck-confirm")
    allure_dir = config.getoption("allure_report_dir", None)
    if allure_dir:
        config.pluginmanager.register(AllureSteps(), "rollcheck-allure-steps")
    if not is_controller(config):
        return
    if settings.watch:
        if config.getoption("numprocesses", None):
            raise pytest.UsageError(
                "--watch cannot run with pytest-xdist (-n): the watch repeats the metric checks on the controller; "
                "drop -n"
            )
        from ._watch_rounds import Watch  # the rounds' analysis is loaded only for a run that watches

        config.pluginmanager.register(Watch(config, settings), "rollcheck-watch")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistHandoff(config), "rollcheck-xdist")
    if config.pluginmanager.hasplugin("html"):
        config.pluginmanager.register(HtmlSummary(lambda: session.record), "rollcheck-html")
    if allure_dir:
        config.pluginmanager.register(AllureReport(Path(allure_dir)), "rollcheck-allure")


def unconfigure(config: pytest.Config) -> None:
    for name in _REGISTERED:
        plugin = config.pluginmanager.get_plugin(name)
        if plugin is not None:
            config.pluginmanager.unregister(plugin, name)
