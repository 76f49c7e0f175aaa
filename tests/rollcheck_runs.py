"""Running `rollcheck run` as a user would, against a demo workload on the local environment."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localenv_support import REPO_ROOT
from localenv_support import LocalEnv
from localenv_support import Releases


@dataclass
class RollcheckRun:
    returncode: int
    stdout: str
    stderr: str
    report_dir: Path

    @property
    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.report_dir / "report.json").read_text())
        return data


@dataclass
class Scenario:
    """One demo workload, exposed on its own loopback port, and a way to run rollcheck against it."""

    releases: Releases
    localenv: LocalEnv
    name: str
    port: int
    tmp_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def deploy(self, version: str, env: dict[str, str] | None = None) -> None:
        try:
            self.releases.apps.read_namespaced_deployment(self.name, self.releases.namespace)
        except Exception:
            self.releases.deploy(self.name, version, replicas=2, env=env, port=self.port)
        else:
            self.releases.set_release(self.name, version, env=env)
        self.releases.wait_rollout(self.name)

    def image(self) -> str:
        deployment = self.releases.apps.read_namespaced_deployment(self.name, self.releases.namespace)
        return str(deployment.spec.template.spec.containers[0].image)

    def revision(self) -> str:
        deployment = self.releases.apps.read_namespaced_deployment(self.name, self.releases.namespace)
        return str(deployment.metadata.annotations["deployment.kubernetes.io/revision"])

    def run(self, *args: str, prometheus_url: str | None = None, env: dict[str, str] | None = None) -> RollcheckRun:
        report_dir = self.tmp_path / "report"
        command = [
            str(REPO_ROOT / ".venv" / "bin" / "rollcheck"),
            "run",
            f"--target=deployment/{self.name}",
            f"--namespace={self.releases.namespace}",
            f"--kubeconfig={self.localenv.kubeconfig}",
            f"--base-url={self.base_url}",
            f"--prometheus-url={prometheus_url or self.localenv.prometheus_url}",
            "--window=10s",
            "--min-requests=20",
            "--rollout-timeout=60s",
            f"--report-dir={report_dir}",
            *args,
        ]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=300, cwd=self.tmp_path, env={**_base_env(), **(env or {})}
        )
        return RollcheckRun(result.returncode, result.stdout, result.stderr, report_dir)


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("ROLLCHECK_", "PYTEST_"))}
