"""A Kubernetes Event on the target for every rollback decision, so `kubectl describe` and `kubectl get events`
show what rollcheck did, next to the controller's own events.

A core/v1 Event with `involvedObject` (kind, name, namespace, uid): that is what `kubectl describe` searches
by. Its name is derived from the run, so a retry after a lost answer finds it (409) instead of creating a
second one. A Helm release is not one Kubernetes object (its workloads may be several, its release Secrets
hold the chart and values), so a helm/RELEASE target gets no Event; the outcome says so.
"""

from __future__ import annotations

import datetime
import hashlib
import socket
import time
from collections.abc import Callable
from typing import Any

from .._errors import ClusterUnavailable
from .._errors import Conflict
from .._errors import KubernetesError
from .._errors import RollcheckError
from ..record import NotificationOutcome
from ..record import RollbackAction
from ..record import RunRecord
from ..settings import Settings
from ..target import TargetRef
from ._message import facts

__all__ = ["EVENT_SINK", "EVENT_TYPES", "event_body", "needs_event", "post_event"]

EVENT_SINK = "kubernetes-event"
#: Rollback action → (reason, type). A dry run or a frozen release is a skipped rollback whose failing
#: release is still live: a Warning.
EVENT_TYPES = {
    RollbackAction.ROLLED_BACK: ("RollcheckRollback", "Normal"),
    RollbackAction.FAILED: ("RollcheckRollbackFailed", "Warning"),
    RollbackAction.SKIPPED: ("RollcheckRollbackSkipped", "Normal"),
    RollbackAction.DRY_RUN: ("RollcheckRollbackSkipped", "Warning"),
    RollbackAction.FROZEN: ("RollcheckRollbackSkipped", "Warning"),
}
#: Target kind → (apiVersion, kind) of the object the Event is about.
_OBJECTS = {
    "deployment": ("apps/v1", "Deployment"),
    "statefulset": ("apps/v1", "StatefulSet"),
    "daemonset": ("apps/v1", "DaemonSet"),
}
# events.k8s.io caps a note at 1 kB; core/v1 does not, but a describe output should stay readable anyway.
_MAX_MESSAGE_BYTES = 1024
_BACKOFFS = (0.5, 1.0)


def needs_event(record: RunRecord, settings: Settings) -> bool:
    return settings.target is not None and record.rollback.action in EVENT_TYPES


def event_body(record: RunRecord, target: TargetRef, involved: dict[str, Any]) -> dict[str, Any]:
    """The Event for `record` about the object `involved` (its raw JSON, as read from the API)."""
    rollback = record.rollback
    reason, kind = EVENT_TYPES[rollback.action]
    if rollback.action is RollbackAction.ROLLED_BACK and (rollback.error or rollback.recovered is False):
        kind = "Warning"  # rolled back, but the restored revision did not come up healthy
    f = facts(record)
    message = f"{f.done} {f.change}: {f.reason}; health recovered: {f.recovered}"
    encoded = message.encode("utf-8")
    if len(encoded) > _MAX_MESSAGE_BYTES:
        message = encoded[: _MAX_MESSAGE_BYTES - 3].decode("utf-8", "ignore") + "…"
    metadata = involved.get("metadata") or {}
    api_version, object_kind = _OBJECTS[target.kind.value]
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    run = f"{record.namespace}/{target}/{record.timings.started_at}/{rollback.action.value}"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{target.name[:200]}.rollcheck-{hashlib.sha256(run.encode()).hexdigest()[:16]}",
            "namespace": record.namespace,
        },
        "involvedObject": {
            "apiVersion": api_version,
            "kind": object_kind,
            "name": target.name,
            "namespace": record.namespace,
            "uid": metadata.get("uid"),
            "resourceVersion": metadata.get("resourceVersion"),
        },
        "reason": reason,
        "message": message,
        "type": kind,
        "action": "Rollback",
        "source": {"component": "rollcheck"},
        "reportingComponent": "rollcheck",
        "reportingInstance": socket.gethostname()[:128],
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


def post_event(
    record: RunRecord, settings: Settings, *, sleep: Callable[[float], None] = time.sleep
) -> NotificationOutcome:
    """Create the Event on the target; every failure (403 included) becomes the outcome's error."""
    target = settings.target
    if target is None or target.kind.value not in _OBJECTS:
        shown = target or "no target"
        error = f"not created: {shown} is not one Kubernetes object to put an Event on (see the README)"
        return NotificationOutcome(sink=EVENT_SINK, delivered=False, attempts=0, error=error)
    # Imported here: runs without a rollback decision never load the Kubernetes client.
    from ..kube import RetryPolicy
    from ..kube import connect

    attempts = len(_BACKOFFS) + 1
    for attempt in range(1, attempts + 1):
        try:
            # One try per call: this loop retries, and counts the attempts for the report.
            with connect(
                kubeconfig=settings.kubeconfig,
                context=settings.context,
                timeout=settings.http_timeout,
                retry=RetryPolicy(backoffs=()),
            ) as kube:
                involved = kube.get_raw(target.kind.value, target.name, record.namespace)
                try:
                    kube.create_raw("event", record.namespace, event_body(record, target, involved))
                except Conflict as error:
                    if error.status != 409:  # 409 AlreadyExists: an earlier attempt's create did arrive
                        raise
            return NotificationOutcome(sink=EVENT_SINK, delivered=True, attempts=attempt)
        except RollcheckError as error:
            if attempt == attempts or not _transient(error):
                return NotificationOutcome(sink=EVENT_SINK, delivered=False, attempts=attempt, error=str(error))
            sleep(_BACKOFFS[attempt - 1])
    raise AssertionError("unreachable: the last attempt always returns")


def _transient(error: RollcheckError) -> bool:
    if isinstance(error, ClusterUnavailable):
        return True
    return isinstance(error, KubernetesError) and (error.status == 429 or error.status >= 500)
