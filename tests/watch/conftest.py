"""The watch tests drive pytest runs through the plugin tests' RollcheckTester, and `rollcheck run` against the
local environment through the end-to-end tests' Scenario."""

from __future__ import annotations

from pathlib import Path

import pytest
from plugin.conftest import RollcheckTester

from localenv_support import LocalEnv
from localenv_support import Releases
from localenv_support import free_port
from rollcheck_runs import Scenario


@pytest.fixture
def rollcheck_tester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> RollcheckTester:
    for name in ("ROLLCHECK_TARGET", "KUBECONFIG", "CI", "GITHUB_ACTIONS", "GITLAB_CI"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeini("[pytest]\n")
    return RollcheckTester(pytester)


@pytest.fixture
def scenario(releases: Releases, localenv: LocalEnv, tmp_path: Path, request: pytest.FixtureRequest) -> Scenario:
    """One demo workload on its own port, and `rollcheck run` against it (as in tests/e2e)."""
    name = request.node.name.removeprefix("test_").replace("_", "-")[:30].rstrip("-")
    return Scenario(releases, localenv, name, free_port(), tmp_path)
