"""The manifests under deploy/, made fit for a throw-away test namespace."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from localenv_support import REPO_ROOT
from localenv_support import LocalEnv

DEPLOY = REPO_ROOT / "deploy"
#: The namespace the manifests are written for (the README's example).
MANIFEST_NAMESPACE = "prod"
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding"}


def load(path: Path, namespace: str, suffix: str) -> list[dict[str, Any]]:
    """The objects of one manifest file, moved into `namespace`; cluster-scoped names get `suffix`, so tests
    running side by side never share (or delete) each other's ClusterRoles."""
    documents = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    for doc in documents:
        metadata = doc["metadata"]
        if metadata.get("namespace") == MANIFEST_NAMESPACE:
            metadata["namespace"] = namespace
        if doc["kind"] in CLUSTER_SCOPED:
            metadata["name"] += suffix
        if doc["kind"] in {"RoleBinding", "ClusterRoleBinding"}:
            if doc["roleRef"]["kind"] == "ClusterRole":
                doc["roleRef"]["name"] += suffix
            for subject in doc.get("subjects") or []:
                if subject.get("namespace") == MANIFEST_NAMESPACE:
                    subject["namespace"] = namespace
    return documents


def kubectl(localenv: LocalEnv, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = subprocess.run(
        [str(localenv.kubectl), f"--kubeconfig={localenv.kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr
