"""Where a run's outputs are: files under a directory, and what rollcheck left on the cluster; and which parts of
a private key count as the secret."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from kubernetes import client


def key_secrets(pem: str) -> dict[str, str]:
    """What of a private key must never be shown: each full line of its base64 body, and the base64 of the
    whole file as a kubeconfig holds it (its first 60 characters, which no shorter text can contain)."""
    body = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    secrets = {f"client key line {number}": line for number, line in enumerate(body, 1) if len(line) >= 32}
    secrets["client-key-data"] = base64.b64encode(pem.encode()).decode()[:60]
    return secrets


def cluster_outputs(kube_api: client.ApiClient, namespace: str, name: str) -> dict[str, str]:
    """What rollcheck left on the cluster: the namespace's Events (rollcheck's among them) and the Deployment
    with its annotations, as JSON."""
    core, apps = client.CoreV1Api(kube_api), client.AppsV1Api(kube_api)
    events = core.list_namespaced_event(namespace).items
    deployment = apps.read_namespaced_deployment(name, namespace)
    return {
        "kubernetes events": json.dumps(kube_api.sanitize_for_serialization(events)),
        "deployment": json.dumps(kube_api.sanitize_for_serialization(deployment)),
    }


def file_outputs(directory: Path) -> dict[str, str]:
    """Every file under `directory`, by its path relative to it."""
    return {
        str(path.relative_to(directory)): path.read_text(encoding="utf-8", errors="replace")
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def child_environment(**extra: str) -> dict[str, str]:
    """The test's environment without any setting of its own, plus `extra`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLCHECK_", "PYTEST_", "KUBECONFIG"))}
    return {**base, **extra}
