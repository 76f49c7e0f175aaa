"""Helm releases of the test chart on the local environment, installed and upgraded with the real helm binary,
and `rollcheck run -t helm/NAME` against them. The fixtures are imported by the conftest.py of every test
directory that needs a Helm release (helm, preflight, serve).

The chart (tests/helm/charts/demo) renders one Deployment of the demo service named after the release, exposed
by the node agent on the release's loopback port. Its versions are packaged from the one source with `helm
package --version --app-version`: chart 1.0.0 is app v1, 2.0.0 is v2, 3.0.0 is v3, each running
`rollcheck-demo:<app>`.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from localenv_support import REPO_ROOT
from localenv_support import LocalEnv
from localenv_support import eventually
from localenv_support import free_port
from rollcheck_runs import RollcheckRun


def helm_environment(localenv: LocalEnv) -> dict[str, str]:
    """The environment env.sh gives: helm's homes under .localenv, the local kubeconfig. ROLLCHECK_* and
    PYTEST_* of the outer run are dropped, so the run under test sees only what a test gives it."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLCHECK_", "PYTEST_", "HELM_"))}
    homes = {name: str(path) for name, path in localenv.layout.helm_homes.items()}
    return {**inherited, **homes, "KUBECONFIG": str(localenv.kubeconfig)}


@dataclass
class HelmRelease:
    """One release of the test chart in a throw-away namespace, and `rollcheck run -t helm/NAME` against it."""

    name: str
    namespace: str
    port: int
    helm: Path
    packages: dict[str, Path]
    localenv: LocalEnv
    apps: client.AppsV1Api
    tmp_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def helm_run(self, *args: str) -> str:
        result = subprocess.run(
            [str(self.helm), *args, "--namespace", self.namespace],
            capture_output=True, text=True, env=helm_environment(self.localenv), timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, f"helm {' '.join(args)}: {result.stderr}"
        return result.stdout

    def deploy(self, app: str, *, wait: bool = True, **values: str) -> None:
        """`helm upgrade --install` chart version `app` with these --set values, then wait for the rollout."""
        sets = [f"--set={key}={value}" for key, value in {"port": str(self.port), **values}.items()]
        self.helm_run("upgrade", "--install", self.name, str(self.packages[app]), *sets)
        if wait:
            self.wait_rollout()

    def upgrade_command(self, app: str) -> list[str]:
        """The argv of an upgrade to `app`, for a check to run while rollcheck is running."""
        return [
            str(self.helm), "upgrade", self.name, str(self.packages[app]), "--namespace", self.namespace,
            f"--set=port={self.port}", f"--kubeconfig={self.localenv.kubeconfig}",
        ]  # fmt: skip

    def history(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = json.loads(self.helm_run("history", self.name, "--output", "json"))
        return entries

    def image(self) -> str:
        deployment = self.apps.read_namespaced_deployment(self.name, self.namespace)
        return str(deployment.spec.template.spec.containers[0].image)

    def wait_rollout(self, timeout: float = 90) -> None:
        def complete() -> bool:
            deployment = self.apps.read_namespaced_deployment(self.name, self.namespace)
            status, wanted = deployment.status, deployment.spec.replicas
            return (
                (status.observed_generation or 0) >= deployment.metadata.generation
                and (status.updated_replicas or 0) >= wanted
                and (status.replicas or 0) <= (status.updated_replicas or 0)
                and (status.available_replicas or 0) >= wanted
            )

        eventually(complete, timeout=timeout, what=f"rollout of helm release {self.name}")

    def run(self, *args: str, env: dict[str, str] | None = None) -> RollcheckRun:
        report_dir = self.tmp_path / "report"
        command = [
            str(REPO_ROOT / ".venv" / "bin" / "rollcheck"), "run", f"--target=helm/{self.name}",
            f"--namespace={self.namespace}", f"--kubeconfig={self.localenv.kubeconfig}", f"--base-url={self.base_url}",
            f"--prometheus-url={self.localenv.prometheus_url}", "--window=10s", "--min-requests=20",
            "--rollout-timeout=90s", f"--report-dir={report_dir}", *args,
        ]  # fmt: skip
        # helm comes from PATH, as for a user who sourced .localenv/env.sh.
        path = f"{self.helm.parent}{os.pathsep}{os.environ.get('PATH', '')}"
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=300, cwd=self.tmp_path,
            env={**helm_environment(self.localenv), "PATH": path, **(env or {})}, check=False,
        )  # fmt: skip
        return RollcheckRun(result.returncode, result.stdout, result.stderr, report_dir)


CHART = REPO_ROOT / "tests" / "helm" / "charts" / "demo"
VERSIONS = {"v1": "1.0.0", "v2": "2.0.0", "v3": "3.0.0"}


@pytest.fixture(scope="session")
def helm_binary(localenv: LocalEnv) -> Path:
    """The helm that `scripts/localenv up` links next to kubectl."""
    binary = localenv.state_dir / "bin" / "helm"
    assert os.access(binary, os.X_OK), f"{binary} is missing: scripts/localenv up links it from build-binaries"
    return binary


@pytest.fixture(scope="session")
def chart_packages(helm_binary: Path, localenv: LocalEnv, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """app version → the packaged chart (.tgz) of that version."""
    directory = tmp_path_factory.mktemp("charts")
    packages = {}
    for app, version in VERSIONS.items():
        subprocess.run(
            [helm_binary, "package", CHART, "--version", version, "--app-version", app, "--destination", directory],
            check=True, capture_output=True, env=helm_environment(localenv), timeout=60,
        )  # fmt: skip
        packages[app] = directory / f"demo-{version}.tgz"
    return packages


@pytest.fixture
def helm_release(
    helm_binary: Path,
    chart_packages: dict[str, Path],
    localenv: LocalEnv,
    kube_api: client.ApiClient,
    namespace: str,
    tmp_path: Path,
) -> Iterator[HelmRelease]:
    release = HelmRelease(
        name=f"demo-{uuid.uuid4().hex[:6]}",
        namespace=namespace,
        port=free_port(),
        helm=helm_binary,
        packages=chart_packages,
        localenv=localenv,
        apps=client.AppsV1Api(kube_api),
        tmp_path=tmp_path,
    )
    yield release
    # The namespace goes with the module; uninstalling now stops the node agent exposing the port and running pods.
    subprocess.run(
        [str(helm_binary), "uninstall", release.name, "--namespace", namespace, "--ignore-not-found"],
        capture_output=True, env=helm_environment(localenv), timeout=60, check=False,
    )  # fmt: skip
