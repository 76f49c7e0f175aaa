"""The files the node agent publishes for other processes, each replaced atomically.

- ``prometheus-targets.json``: Prometheus file-based service discovery, one target group per running demo pod.
- ``workloads.json``: the workloads exposed on a loopback port; the load generator sends traffic to them.
- ``pods.json``: namespace, pod, port and pid of every demo process, for whoever is debugging.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .kube_objects import WorkloadRef

LOOPBACK = "127.0.0.1"
# Labels the agent sets itself, plus the ones Prometheus derives per target: pod labels never replace them.
RESERVED_LABELS = frozenset({"namespace", "pod", "workload", "workload_kind", "version", "job", "instance"})
_INVALID_LABEL_CHARACTERS = re.compile(r"[^a-zA-Z0-9_]")


def sanitize_label_name(name: str) -> str:
    """A Kubernetes label key as a Prometheus label name: ``app.kubernetes.io/name`` -> ``app_kubernetes_io_name``."""
    sanitized = _INVALID_LABEL_CHARACTERS.sub("_", name)
    return f"_{sanitized}" if sanitized[:1].isdigit() else sanitized


@dataclass(frozen=True, kw_only=True)
class ScrapeTarget:
    """One running demo process and what Prometheus should know about it."""

    namespace: str
    pod: str
    port: int
    version: str
    workload: WorkloadRef | None = None
    pod_labels: Mapping[str, str]

    def labels(self) -> dict[str, str]:
        labels: dict[str, str] = {}
        for key, value in sorted(self.pod_labels.items()):
            name = sanitize_label_name(key)
            # "__" names are Prometheus' own meta labels; the first of two keys that sanitise alike wins.
            if name not in RESERVED_LABELS and not name.startswith("__"):
                labels.setdefault(name, value)
        labels.update(namespace=self.namespace, pod=self.pod, version=self.version)
        if self.workload is not None:
            labels.update(workload=self.workload.name, workload_kind=self.workload.kind.lower())
        return labels

    def target_group(self) -> dict[str, Any]:
        return {"targets": [f"{LOOPBACK}:{self.port}"], "labels": self.labels()}


def target_groups(targets: list[ScrapeTarget]) -> list[dict[str, Any]]:
    """The file_sd document, in a stable order so an unchanged set of targets gives an unchanged file."""
    return [target.target_group() for target in sorted(targets, key=lambda t: (t.namespace, t.pod))]


def workload_entries(
    exposed: Mapping[WorkloadRef, int], rates: Mapping[WorkloadRef, float] | None = None
) -> list[dict[str, Any]]:
    """The workloads.json document: which loopback port serves which workload, and the load rate a workload
    asked for with its annotation (the load generator's default applies to the others)."""
    entries = []
    for ref, port in sorted(exposed.items()):
        entry: dict[str, Any] = {"namespace": ref.namespace, "kind": ref.kind, "name": ref.name, "port": port}
        if rates and ref in rates:
            entry["rate"] = rates[ref]
        entries.append(entry)
    return entries


def atomic_write_json(path: Path, document: Any) -> None:
    """Replace `path` with `document` so a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as temporary:
        json.dump(document, temporary, indent=2, sort_keys=True)
        temporary.write("\n")
    os.chmod(temporary.name, 0o644)  # mkstemp creates 0600; the file is not secret
    os.replace(temporary.name, path)


class PublishedFile:
    """A JSON file rewritten only when its content changes, so readers polling it see few rewrites."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last: Any = None

    def publish(self, document: Any) -> bool:
        """Write `document` if it differs from what was last written; True when the file was rewritten."""
        if document == self._last and self.path.exists():
            return False
        atomic_write_json(self.path, document)
        self._last = document
        return True
