"""helm: Helm releases as targets, through the helm CLI (status, history, manifest, rollback).

A release is identified by its Helm revision; its workloads are the Deployments, StatefulSets and DaemonSets of
its rendered manifest. helm's failures are translated into rollcheck's errors here; helm's output (values,
manifests) is never logged.
"""

from __future__ import annotations

from ._client import DEPLOYED_STATES
from ._client import Helm
from ._client import HelmRevision
from ._client import HelmStatus
from ._client import previous_deployed
from ._client import translate
from ._manifest import Workload
from ._manifest import manifest_workloads
from ._release import read_helm_release
from ._release import read_target_release

__all__ = [
    "DEPLOYED_STATES",
    "Helm",
    "HelmRevision",
    "HelmStatus",
    "Workload",
    "manifest_workloads",
    "previous_deployed",
    "read_helm_release",
    "read_target_release",
    "translate",
]
