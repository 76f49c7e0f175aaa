"""A real `pytest --rollcheck-target` session on the real cluster: the connection opened to read the release is
the one the built-in rollback gets, still kept warm when the verdict arrives, and it is closed at the end."""

from __future__ import annotations

import json

from localenv_support import LocalEnv
from localenv_support import Releases
from rollcheck import ExitCode

# Wraps carry_out to see what the built-in rollback hands it; the rollback itself runs unchanged.
SPY_CONFTEST = """
import json
import threading

from rollcheck.plugins import _finish
from rollcheck.plugins._state import CONNECTION_KEY

SEEN = {}


def _keepalive_running():
    return any(thread.name == "rollcheck-keepalive" for thread in threading.enumerate())


def pytest_configure(config):
    carry_out = _finish.carry_out

    def watched(*args, **kwargs):
        connection = config.stash[CONNECTION_KEY]
        SEEN["given_the_session_connection"] = kwargs["kube"] is not None and kwargs["kube"] is connection.kube
        SEEN["kept_warm"] = _keepalive_running()
        return carry_out(*args, **kwargs)

    _finish.carry_out = watched

    def after_the_connection_closed():
        # Registered before the session opens the connection, so run after its close (cleanups run last-first).
        SEEN["closed"] = config.stash[CONNECTION_KEY].kube is None and not _keepalive_running()
        with open(SEEN_PATH, "w") as seen:
            json.dump(SEEN, seen)

    config.add_cleanup(after_the_connection_closed)
"""


def test_the_rollback_runs_on_the_connection_that_read_the_release(
    rollcheck_tester, releases: Releases, localenv: LocalEnv
) -> None:  # type: ignore[no-untyped-def]
    releases.deploy("warm", "v1", replicas=1)
    releases.wait_rollout("warm")
    releases.set_release("warm", "v2")
    releases.wait_rollout("warm")
    seen_path = rollcheck_tester.pytester.path / "seen.json"
    rollcheck_tester.pytester.makeconftest(f"SEEN_PATH = {str(seen_path)!r}\n{SPY_CONFTEST}")
    rollcheck_tester.pytester.makepyfile("def test_bad():\n    assert False, 'release is broken'\n")

    run = rollcheck_tester.run(
        "--rollcheck-target=deployment/warm",
        f"--rollcheck-namespace={releases.namespace}",
        f"--rollcheck-kubeconfig={localenv.kubeconfig}",
        "--rollcheck-rollout-timeout=60s",
    )

    assert run.result.ret == ExitCode.FAILED, run.result.stdout.str()
    assert (run.report["rollback"]["action"], run.report["rollback"]["to_version"]) == ("rolled_back", "v1")
    assert json.loads(seen_path.read_text()) == {
        "given_the_session_connection": True,
        "kept_warm": True,
        "closed": True,
    }
