"""End-to-end runs of `rollcheck run` against releases on the local environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from localenv_support import LocalEnv
from localenv_support import Releases
from localenv_support import free_port
from rollcheck_runs import Scenario


@pytest.fixture
def scenario(releases: Releases, localenv: LocalEnv, tmp_path: Path, request: pytest.FixtureRequest) -> Scenario:
    name = request.node.name.removeprefix("test_").replace("_", "-")[:30].rstrip("-")
    return Scenario(releases, localenv, name, free_port(), tmp_path)
