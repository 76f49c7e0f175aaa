"""Whether the release running now is the one an alert is about, and not rollcheck's own rollback: read from the
live workload just before acting, so none of it depends on what this process remembers.

An alert is left alone (skipped, with the reason) when:

- its `version` or `revision` label names something other than what runs now;
- a rollout is in progress: the alert may be about the release being replaced;
- the release running now started deploying (its ReplicaSet or ControllerRevision was created, or Helm deployed
  it) or completed its rollout after the alert began: a newer deploy is not the alert's to undo;
- rollcheck rolled the workload back (its `rollcheck.dev/rolled-back-*` markers; for a Helm release, a
  `Rollback to N` revision) within the cooldown, or the rollback now would restore the very revision that
  rollback left. This holds across restarts of serve, and with several of them.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._errors import ClusterUnavailable
from .._errors import RollcheckError
from ..helm import Helm
from ..helm import translate
from ..kube import Kube
from ..kube import UnsupportedKind
from ..kube import current_controller_revision
from ..kube import find_new_replica_set
from ..kube import owned_controller_revisions
from ..kube import owned_replica_sets
from ..kube import rollout_status
from ..rollback import ROLLED_BACK_AT
from ..rollback import ROLLED_BACK_FROM
from ..rollback import engine_for
from ..target import Release
from ..target import TargetKind
from ..target import TargetRef
from ._alerts import Alert
from ._alerts import parse_time

__all__ = ["LiveState", "read_live", "reason_to_skip"]

#: Clock and timestamp granularity (markers and creationTimestamps have whole seconds).
_SLACK = datetime.timedelta(seconds=2)
_REVISION = re.compile(r"revision (\d+)")
_HELM_ROLLBACK = re.compile(r"^Rollback to (\d+)")
_HELM_TIMEOUT = 60.0


@dataclass(frozen=True, kw_only=True)
class LiveState:
    """What the workload (or Helm release) says about itself, beyond the release the checks read."""

    rollout_done: bool
    """Whether `kubectl rollout status` would say the rollout completed (every workload of a Helm release)."""
    rollout_message: str
    """kubectl's message for the unfinished rollout."""
    deploy_started_at: datetime.datetime | None
    """When the running release's rollout started: its ReplicaSet's or ControllerRevision's creationTimestamp,
    or Helm's info.last_deployed."""
    rolled_back_at: datetime.datetime | None = None
    """When rollcheck (for Helm: anyone) last rolled the running release back; None when it carries no marker."""
    rolled_back_from: int | None = None
    """The revision that rollback left."""
    would_restore: int | None = None
    """The revision a rollback would restore now; read only when there is a marker to compare it with."""


def read_live(kube: Kube, helm: Helm, release: Release) -> LiveState:
    """The live state of `release`'s target. Raises RollcheckError when the cluster (or helm) cannot be read."""
    target, namespace = release.target, release.namespace
    if target.kind is TargetKind.HELM:
        state = _helm_state(kube, helm, release)
    else:
        state = _workload_state(kube, target, namespace)
    if state.rolled_back_from is None:
        return state
    try:
        engine = engine_for(target.kind, kube, helm=helm)
        plan = engine.plan(target, namespace, release)
    except (RollcheckError, ValueError):
        return state  # the rollback itself will meet the problem and record it
    return dataclasses.replace(state, would_restore=plan.to_revision)


def _workload_state(kube: Kube, target: TargetRef, namespace: str) -> LiveState:
    workload = kube.get_raw(target.kind.value, target.name, namespace)
    status = rollout_status(workload)
    if target.kind is TargetKind.DEPLOYMENT:
        current = find_new_replica_set(workload, owned_replica_sets(kube, workload))
    else:
        current = current_controller_revision(workload, owned_controller_revisions(kube, workload))
    created = parse_time(((current or {}).get("metadata") or {}).get("creationTimestamp"))
    annotations: Mapping[str, str] = workload["metadata"].get("annotations") or {}
    origin = _REVISION.search(annotations.get(ROLLED_BACK_FROM, ""))
    rolled_back_at = parse_time(annotations.get(ROLLED_BACK_AT))
    return LiveState(
        rollout_done=status.done,
        rollout_message=status.message,
        deploy_started_at=created,
        rolled_back_at=rolled_back_at if origin else None,
        rolled_back_from=int(origin.group(1)) if origin and rolled_back_at else None,
    )


def _helm_state(kube: Kube, helm: Helm, release: Release) -> LiveState:
    status = _helm_json(helm, ["status", release.target.name, "--namespace", release.namespace])
    info = status.get("info") or {}
    deployed = parse_time(info.get("last_deployed"))
    done, message = True, ""
    for workload in release.workloads:
        try:
            rollout = rollout_status(kube.get_raw(workload.kind.value, workload.name, release.namespace))
        except UnsupportedKind:
            continue
        if not rollout.done:
            done, message = False, f"{workload}: {rollout.message}"
            break
    rollback = _HELM_ROLLBACK.match(str(info.get("description") or ""))
    rolled_back_from = None
    if rollback is not None and release.revision is not None:
        history = _helm_json(helm, ["history", release.target.name, "--namespace", release.namespace])
        earlier = [int(entry["revision"]) for entry in history if int(entry["revision"]) < release.revision]
        rolled_back_from = max(earlier, default=None)
    return LiveState(
        rollout_done=done,
        rollout_message=message,
        deploy_started_at=deployed,
        rolled_back_at=deployed if rolled_back_from is not None else None,
        rolled_back_from=rolled_back_from,
    )


def _helm_json(helm: Helm, args: list[str]) -> Any:
    """`helm ARGS --output json`. HelmStatus (rollcheck.helm) does not carry info.last_deployed or the
    description, so serve asks helm itself, with the same binary, kubeconfig and context."""
    argv = [helm.binary, *args, "--output", "json"]
    argv += ["--kubeconfig", str(helm.kubeconfig)] if helm.kubeconfig is not None else []
    argv += ["--kube-context", helm.context] if helm.context is not None else []
    operation = f"helm {args[0]} {args[3]}/{args[1]}"
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=_HELM_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ClusterUnavailable(f"{operation}: {error}") from None
    if result.returncode != 0:
        raise translate(result.stderr, operation, ClusterUnavailable)
    try:
        return json.loads(result.stdout)
    except ValueError:
        raise ClusterUnavailable(f"{operation}: answered something other than JSON") from None


def reason_to_skip(
    alert: Alert, release: Release, live: LiveState, *, cooldown: float, now: datetime.datetime
) -> str | None:
    """Why the alert must not roll back what runs now; None when it may."""
    version = alert.labels.get("version")
    if version and version != release.version:
        return f"the alert is about version {version}, but the workload now runs {release.version or 'no tag'}"
    revision = alert.labels.get("revision")
    if revision and revision != str(release.revision):
        return f"the alert is about revision {revision}, but the workload is now at revision {release.revision}"
    if not live.rollout_done:
        return f"a rollout is in progress ({live.rollout_message}); the alert may be about an older release"
    started, completed = live.deploy_started_at, release.rollout_completed_at
    if alert.starts_at is not None:
        if started is not None and started > alert.starts_at + _SLACK:
            return (
                f"the running release started deploying at {started.isoformat()}, after the alert started "
                f"({alert.starts_at.isoformat()}): a newer deploy is not the alert's to undo"
            )
        if completed is not None and completed > alert.starts_at:
            return (
                f"the workload's rollout completed at {completed.isoformat()}, after the alert started "
                f"({alert.starts_at.isoformat()}): a newer deploy is not the alert's to undo"
            )
    return _own_rollback(live, cooldown=cooldown, now=now)


def _own_rollback(live: LiveState, *, cooldown: float, now: datetime.datetime) -> str | None:
    at, origin = live.rolled_back_at, live.rolled_back_from
    if at is None or origin is None:
        return None
    if live.deploy_started_at is not None and live.deploy_started_at > at + _SLACK:
        return None  # deployed since that rollback: the markers are left over from an older release
    ago = (now - at).total_seconds()
    if ago < cooldown:
        return (
            f"rollcheck rolled it back from revision {origin} at {at.isoformat()} ({ago:.0f}s ago), within the "
            f"cooldown of {cooldown:g}s"
        )
    if live.would_restore == origin:
        return (
            f"rolling back now would restore revision {origin}, the one rollcheck rolled back from at "
            f"{at.isoformat()}: flipping back is not a rollback"
        )
    return None
