"""--require-rollback-ready is spelled as every option is: flag, ROLLCHECK_REQUIRE_ROLLBACK_READY, config key."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollcheck import ConfigError
from rollcheck.settings import ConfigFile
from rollcheck.settings import resolve


def test_off_by_default_and_on_from_each_source(tmp_path: Path) -> None:
    assert resolve(cli={}, environ={}, config_file=None).require_rollback_ready is False
    assert resolve(cli={"require_rollback_ready": True}, environ={}, config_file=None).require_rollback_ready
    environ = {"ROLLCHECK_REQUIRE_ROLLBACK_READY": "yes"}
    assert resolve(cli={}, environ=environ, config_file=None).require_rollback_ready
    config = ConfigFile(path=tmp_path / "rollcheck.toml", table={"require-rollback-ready": True}, section=None)
    assert resolve(cli={}, environ={}, config_file=config).require_rollback_ready


def test_a_bad_value_names_the_variable_and_the_value() -> None:
    with pytest.raises(ConfigError) as error:
        resolve(cli={}, environ={"ROLLCHECK_REQUIRE_ROLLBACK_READY": "maybe"}, config_file=None)
    assert "ROLLCHECK_REQUIRE_ROLLBACK_READY" in str(error.value)
    assert "maybe" in str(error.value)
