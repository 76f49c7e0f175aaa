"""Fixtures for rollcheck's own tests: the local release environment, throw-away namespaces, and releases.

Tests marked `localenv` run against the real control plane, Prometheus and Alertmanager started by
`scripts/localenv up`. The session fixture starts the environment or reuses a running one. If it cannot come
up, those tests fail: they are never skipped, because a skipped test would hide a missing component in CI.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client
from kubernetes import config as kube_config

from localenv_support import REPO_ROOT
from localenv_support import LocalEnv
from localenv_support import Releases
from rollcheck.kube import Kube
from rollcheck.kube import connect
from rollcheck_localenv.layout import Layout


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Anything that asks for the environment is a localenv test, so `-m "not localenv"` gives a quick unit run.
    for item in items:
        if {"localenv", "kube_api", "namespace", "releases", "rollcheck_kube"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.localenv)


@pytest.fixture(scope="session")
def localenv() -> LocalEnv:
    # Layout.default() honours ROLLCHECK_LOCALENV_DIR and _PORT_OFFSET, so a second checkout can run its own.
    env = LocalEnv(Layout.default())
    script = REPO_ROOT / "scripts" / "localenv"
    if subprocess.run([script, "status"], capture_output=True, check=False).returncode != 0:
        result = subprocess.run([script, "up"], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            pytest.fail(
                f"the local environment did not come up (scripts/localenv up exited {result.returncode}):\n"
                f"{result.stderr[-4000:]}",
                pytrace=False,
            )
    return env


@pytest.fixture(scope="session")
def kube_api(localenv: LocalEnv) -> Iterator[client.ApiClient]:
    api = kube_config.new_client_from_config(config_file=str(localenv.kubeconfig))
    yield api
    api.close()


@pytest.fixture(scope="module")
def rollcheck_kube(localenv: LocalEnv) -> Iterator[Kube]:
    """rollcheck's own Kubernetes client on the local environment (admin identity)."""
    with connect(kubeconfig=localenv.kubeconfig, context=None) as kube:
        yield kube


@pytest.fixture(scope="module")
def namespace(kube_api: client.ApiClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace for one test module, deleted afterwards with everything in it."""
    stem = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")[:40]
    name = f"t-{stem}-{uuid.uuid4().hex[:6]}"
    core = client.CoreV1Api(kube_api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    if os.environ.get("ROLLCHECK_KEEP_NAMESPACES") != "1":
        core.delete_namespace(name, propagation_policy="Background")


@pytest.fixture
def releases(kube_api: client.ApiClient, namespace: str, localenv: LocalEnv) -> Releases:
    """Deploy demo releases and wait for their rollouts, as CI would before running rollcheck."""
    return Releases(kube_api, namespace, localenv)
