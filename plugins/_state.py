"""Where the plugin keeps its state: StashKeys on the config and on each item, never attributes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # a run with rollcheck installed but off must not load the rollback and record modules
    from rollcheck.act import SessionConnection
    from rollcheck.record._model import Measurement
    from rollcheck.settings import PrometheusAuth
    from rollcheck.settings._model import Settings
    from rollcheck.target._release import Release

__all__ = ["CONNECTION_KEY", "MEASUREMENTS_KEY", "PROMETHEUS_AUTH_KEY", "RELEASE_KEY", "SETTINGS_KEY"]

SETTINGS_KEY: pytest.StashKey[Settings] = pytest.StashKey()
"""config.stash: the resolved settings of the run (CLI > env > file > default; markers apply per check)."""

PROMETHEUS_AUTH_KEY: pytest.StashKey[PrometheusAuth] = pytest.StashKey()
"""config.stash: Prometheus credentials from ROLLCHECK_PROMETHEUS_TOKEN / _USERNAME / _PASSWORD, read once at
configure time so a bad combination is a usage error before any check runs."""

RELEASE_KEY: pytest.StashKey[Release | Exception] = pytest.StashKey()
"""config.stash: the release under test read once at session start, or why it could not be read."""

CONNECTION_KEY: pytest.StashKey[SessionConnection] = pytest.StashKey()
"""config.stash (controller only): the run's Kubernetes connection, opened to read the release, kept warm while
the checks run, used again by the built-in rollback, and closed when pytest unconfigures."""

MEASUREMENTS_KEY: pytest.StashKey[list[Measurement]] = pytest.StashKey()
"""item.stash: what a check measured (query, value, threshold, window), for the report."""
