"""The rollback hookspec on the real cluster: a team's own rollback replaces the engine, and whatever it
returns is checked before it reaches the report."""

from __future__ import annotations

import pytest

from localenv_support import LocalEnv
from localenv_support import Releases
from rollcheck import ExitCode


@pytest.fixture
def deployed(releases: Releases, request: pytest.FixtureRequest) -> str:
    name = f"hooked-{request.node.name.removeprefix('test_')[:20].replace('_', '-').rstrip('-')}"
    releases.deploy(name, "v1", replicas=1)
    releases.wait_rollout(name)
    return name


def _run(rollcheck_tester, releases: Releases, localenv: LocalEnv, name: str):
    rollcheck_tester.pytester.makepyfile("def test_bad():\n    assert False, 'release is broken'\n")
    return rollcheck_tester.run(
        f"--rollcheck-target=deployment/{name}",
        f"--rollcheck-namespace={releases.namespace}",
        f"--rollcheck-kubeconfig={localenv.kubeconfig}",
    )


def test_custom_rollback_hook_replaces_the_engine(
    rollcheck_tester, releases: Releases, localenv: LocalEnv, deployed: str
) -> None:  # type: ignore[no-untyped-def]
    rollcheck_tester.pytester.makeconftest(
        """
        from rollcheck.record import RollbackAction, RollbackRecord

        def pytest_rollcheck_rollback(decision, release, settings):
            return RollbackRecord(action=RollbackAction.ROLLED_BACK, reason="custom: " + decision.reason,
                                  from_version=release.version, to_version="v0", recovered=True)
        """
    )
    run = _run(rollcheck_tester, releases, localenv, deployed)
    assert run.result.ret == ExitCode.FAILED
    rollback = run.report["rollback"]
    assert (rollback["action"], rollback["from_version"], rollback["to_version"]) == ("rolled_back", "v1", "v0")
    assert rollback["reason"].startswith("custom: ")
    image = (
        releases.apps.read_namespaced_deployment(deployed, releases.namespace).spec.template.spec.containers[0].image
    )
    assert image == "rollcheck-demo:v1", "the built-in engine did not run"


def test_a_rollback_hook_returning_something_else_is_a_failed_rollback(
    rollcheck_tester, releases: Releases, localenv: LocalEnv, deployed: str
) -> None:  # type: ignore[no-untyped-def]
    rollcheck_tester.pytester.makeconftest(
        "def pytest_rollcheck_rollback(decision, release, settings):\n    return {'action': 'rolled_back'}\n"
    )
    run = _run(rollcheck_tester, releases, localenv, deployed)
    assert run.result.ret == ExitCode.ROLLBACK_FAILED
    assert run.report["rollback"]["action"] == "failed"
    assert "returned dict" in run.report["rollback"]["error"]
