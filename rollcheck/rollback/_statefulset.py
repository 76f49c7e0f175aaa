"""`kubectl rollout undo statefulset/NAME` (docs/kubernetes.md A.3) with rollcheck's guard (see `_revisioned`),
and the StatefulSet caveat kubectl leaves to its user.

With the default `podManagementPolicy: OrderedReady`, the controller walks the pods in order and stops at the
first one that is not Ready, before it replaces any pod of an old revision. A pod that crash-loops at the
broken revision therefore stays there after the undo, and the restored rollout never completes
(kubernetes/kubernetes#67250; the docs call the fix a "forced rollback": delete the pod). `wait` finds such
pods and ends with a message that names them and the command that unblocks the rollout, instead of waiting
out the whole timeout.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ..kube import REVISION_HASH_LABEL
from ..kube import Kube
from ..kube import RolloutStatus
from ..kube import pod_problems
from ..kube import revision_pods
from ..kube import rollout_status
from ..kube import selector_string
from ..kube import wait_for_rollout
from ..target import TargetKind
from ._engine import RollbackPlan
from ._revisioned import RevisionedRollback

__all__ = ["StatefulSetRollback", "stuck_pods"]

#: How long each stretch of watching lasts before the pods are looked at for a stuck one.
_LOOK_EVERY = 5.0


class StatefulSetRollback(RevisionedRollback):
    """The StatefulSet rollback engine (implements RollbackEngine)."""

    kind = TargetKind.STATEFULSET

    def wait(self, plan: RollbackPlan, *, timeout: float) -> RolloutStatus:
        """kubectl's rollout status wait, ended early (failed) when pods stay stuck at a rolled-back revision."""
        name, namespace = plan.target.name, plan.namespace
        deadline = time.monotonic() + timeout
        seen: set[str] = set()
        while True:
            stretch = max(0.0, min(_LOOK_EVERY, deadline - time.monotonic()))
            status = wait_for_rollout(self.kube, plan.target, namespace, timeout=stretch)
            if status.done or status.failed:
                return status
            statefulset = self.kube.get_raw("statefulset", name, namespace)
            stuck = stuck_pods(self.kube, statefulset)
            names = {pod for pod, _ in stuck}
            # Twice in a row: a pod between two restarts of a transient failure is not stuck yet.
            if names and names == seen:
                return RolloutStatus(False, True, _stuck_message(statefulset, stuck))
            seen = names
            if time.monotonic() >= deadline:
                last = rollout_status(statefulset, kind=TargetKind.STATEFULSET)
                return RolloutStatus(False, False, f"timed out after {timeout:g}s: {last.message}")


def stuck_pods(kube: Kube, statefulset: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The pods the controller will wait for forever: under OrderedReady, not Ready, at a revision other than
    the update revision, with a container that restarts or cannot start. Each as (name, what is wrong)."""
    spec, status = statefulset.get("spec") or {}, statefulset.get("status") or {}
    if spec.get("podManagementPolicy", "OrderedReady") != "OrderedReady":
        return []  # Parallel: the controller deletes pods of an old revision whether they are Ready or not
    update = status.get("updateRevision")
    if not update or statefulset["metadata"].get("generation", 0) > status.get("observedGeneration", 0):
        return []  # the controller has not taken the rollback in yet
    selector = selector_string(spec.get("selector"))
    selector = f"{selector},{REVISION_HASH_LABEL}!={update}" if selector else f"{REVISION_HASH_LABEL}!={update}"
    stuck = []
    for pod in revision_pods(kube, statefulset, selector):
        problems = pod_problems(pod)
        if problems and not _ready(pod):
            revision = (pod["metadata"].get("labels") or {}).get(REVISION_HASH_LABEL, "unknown revision")
            what = "; ".join(f"{p.container}: {p.restarts} restart(s), {p.reason or 'not Ready'}" for p in problems)
            stuck.append((pod["metadata"]["name"], f"revision {revision}, {what}"))
    return sorted(stuck)


def _ready(pod: Mapping[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _stuck_message(statefulset: Mapping[str, Any], stuck: list[tuple[str, str]]) -> str:
    metadata = statefulset["metadata"]
    names = " ".join(name for name, _ in stuck)
    pods = ", ".join(f"{name} ({what})" for name, what in stuck)
    return (
        f'statefulset "{metadata["name"]}" is stuck: pod(s) {pods} are still at the rolled-back '
        "revision and not Ready. With podManagementPolicy OrderedReady the StatefulSet controller waits for them "
        "to become Ready instead of replacing them (kubernetes/kubernetes#67250). Delete them to have them "
        f"recreated at the restored revision: kubectl delete pod -n {metadata['namespace']} {names}"
    )
