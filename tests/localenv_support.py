"""Helpers for tests on the local environment: deploying demo releases and waiting for rollouts."""

from __future__ import annotations

import random
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import TypeVar

from kubernetes import client

from rollcheck_localenv.layout import Layout

REPO_ROOT = Path(__file__).resolve().parents[1]
PORT_ANNOTATION = "localenv.rollcheck.dev/port"
T = TypeVar("T")


@dataclass(frozen=True)
class LocalEnv:
    """The environment `scripts/localenv` manages: its state directory and loopback ports."""

    layout: Layout

    @property
    def state_dir(self) -> Path:
        return self.layout.state

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def kubectl(self) -> Path:
        return self.state_dir / "bin" / "kubectl"

    @property
    def prometheus_url(self) -> str:
        return self.layout.prometheus_url

    @property
    def alertmanager_url(self) -> str:
        return self.layout.alertmanager_url

    @property
    def alert_receiver_port(self) -> int:
        return self.layout.ports.alert_receiver

    @property
    def prometheus_rules(self) -> Path:
        return self.state_dir / "prometheus" / "rules"

    def run_kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.kubectl), f"--kubeconfig={self.kubeconfig}", *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=60,
        )


def _ephemeral_floor() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A free loopback port below the kernel's ephemeral range.

    The port is bound later, by another process (a workload's proxy in the node agent): a port from the
    ephemeral range could be taken meanwhile by any outgoing connection, and the machine makes hundreds a
    second (load generator, scrapes), so the workload would silently never be exposed."""
    floor = _ephemeral_floor()
    for _ in range(200):
        # From 22000: the fixed ports of scripts/localenv (with any port offset) stay below it.
        port = random.randrange(22000, floor)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free loopback port between 22000 and {floor}")


def wait_for_port(port: int, *, timeout: float = 10.0) -> None:
    """Until something listens on 127.0.0.1:`port` (a server we just started), or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


def eventually(probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.2) -> T:
    """Poll until `probe` returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def demo_deployment(
    name: str,
    version: str,
    *,
    replicas: int = 2,
    env: dict[str, str] | None = None,
    port: int | None = None,
    annotations: dict[str, str] | None = None,
    progress_deadline: int = 30,
) -> dict[str, Any]:
    """A Deployment manifest (raw JSON) running the demo service at `version`."""
    metadata: dict[str, Any] = {"name": name, "labels": {"app": name}, "annotations": dict(annotations or {})}
    if port is not None:
        metadata["annotations"][PORT_ANNOTATION] = str(port)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": replicas,
            "progressDeadlineSeconds": progress_deadline,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": f"rollcheck-demo:{version}",
                            "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
                        }
                    ]
                },
            },
        },
    }


class Releases:
    """Deploys demo releases into one namespace and waits for them like `kubectl rollout status`."""

    def __init__(self, api: client.ApiClient, namespace: str, localenv: LocalEnv) -> None:
        self.apps = client.AppsV1Api(api)
        self.namespace = namespace
        self.localenv = localenv

    def deploy(self, name: str, version: str, **kwargs: Any) -> dict[str, Any]:
        manifest = demo_deployment(name, version, **kwargs)
        self.apps.create_namespaced_deployment(self.namespace, manifest)
        return manifest

    def set_release(self, name: str, version: str, env: dict[str, str] | None = None) -> None:
        """Change the image (and env) like `kubectl set image`: a new revision."""
        patch = {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": f"rollcheck-demo:{version}",
                                "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
                            }
                        ]
                    }
                }
            }
        }
        self.apps.patch_namespaced_deployment(name, self.namespace, patch)

    def rollout_complete(self, name: str) -> bool:
        """kubectl rollout status's 'successfully rolled out' test."""
        deployment = self.apps.read_namespaced_deployment(name, self.namespace)
        spec, status = deployment.spec, deployment.status
        if (status.observed_generation or 0) < deployment.metadata.generation:
            return False
        updated = status.updated_replicas or 0
        return (
            updated >= spec.replicas
            and (status.replicas or 0) <= updated
            and (status.available_replicas or 0) >= updated
        )

    def wait_rollout(self, name: str, timeout: float = 60) -> None:
        eventually(lambda: self.rollout_complete(name), timeout=timeout, what=f"rollout of {name}")
