"""Alertmanager's webhook payload (version 4), read into alerts, and each alert's target read from its labels.

Pure functions: nothing here talks to a cluster. A payload that is JSON but not a version 4 webhook raises
PayloadError; an alert whose labels name no workload gets a reason, never a guess.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from ..settings._parse import parse_namespace
from ..target import TargetKind
from ..target import TargetRef

__all__ = ["Alert", "AlertTarget", "PayloadError", "parse_alertmanager", "parse_time", "resolve_target"]

#: A workload label and the kind it names; `rollcheck_target` (`deployment/shop`) may name any kind instead.
KIND_LABELS: Mapping[str, TargetKind] = {
    "deployment": TargetKind.DEPLOYMENT,
    "statefulset": TargetKind.STATEFULSET,
    "daemonset": TargetKind.DAEMONSET,
    "helm_release": TargetKind.HELM,
}
TARGET_LABEL = "rollcheck_target"


class PayloadError(ValueError):
    """The body is JSON, but not what the endpoint accepts; the message says what is wrong."""


@dataclass(frozen=True, kw_only=True)
class Alert:
    """One alert of a webhook delivery."""

    name: str
    """Its `alertname` label."""
    firing: bool
    """False once Alertmanager reports it resolved."""
    labels: Mapping[str, str]
    """Every label, as Alertmanager sent them."""
    annotations: Mapping[str, str] = field(default_factory=dict)
    """Its annotations (summary, description)."""
    starts_at: datetime.datetime | None = None
    """When it started firing; None when the payload left it out."""
    key: str
    """Identifies this firing of this alert: Alertmanager's fingerprint (or a hash of the labels) plus its
    start, so repeated deliveries of it are recognised and a later, new firing is not."""


@dataclass(frozen=True)
class AlertTarget:
    """The workload an alert is about."""

    target: TargetRef
    """KIND/NAME."""
    namespace: str
    """Its namespace."""


def parse_time(text: object) -> datetime.datetime | None:
    """An RFC 3339 time as Alertmanager and Go write it (nanoseconds, `Z`); None for Go's zero time or junk."""
    if not isinstance(text, str) or text.startswith("0001-"):
        return None
    head, dot, rest = text.partition(".")
    if dot:  # Python reads at most microseconds: cut the fraction to six digits, keep the zone
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def parse_alertmanager(data: object) -> list[Alert]:
    """The alerts of a version 4 webhook body. Raises PayloadError naming what does not fit."""
    if not isinstance(data, dict):
        raise PayloadError("expected a JSON object (Alertmanager's webhook payload)")
    if data.get("version") != "4":
        raise PayloadError(f'webhook payload version {data.get("version")!r} is not supported; expected "4"')
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError("the payload has no list of alerts")
    return [_alert(item, position) for position, item in enumerate(alerts, start=1)]


def _alert(item: object, position: int) -> Alert:
    if not isinstance(item, dict):
        raise PayloadError(f"alert {position} is not an object")
    labels = _strings(item.get("labels"), f"alert {position} labels")
    annotations = _strings(item.get("annotations") or {}, f"alert {position} annotations")
    status = item.get("status")
    if status not in ("firing", "resolved"):
        raise PayloadError(f"alert {position} has status {status!r}; expected firing or resolved")
    starts_at = parse_time(item.get("startsAt"))
    fingerprint = item.get("fingerprint")
    if not isinstance(fingerprint, str) or not fingerprint:
        fingerprint = hashlib.sha256(json.dumps(sorted(labels.items())).encode()).hexdigest()[:16]
    return Alert(
        name=labels.get("alertname", "unnamed alert"),
        firing=status == "firing",
        labels=labels,
        annotations=annotations,
        starts_at=starts_at,
        key=f"{fingerprint}@{starts_at.isoformat() if starts_at else item.get('startsAt')}",
    )


def _strings(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise PayloadError(f"{what} must be an object of strings")
    return dict(value)


def resolve_target(labels: Mapping[str, str]) -> AlertTarget:
    """The workload the labels name: `namespace` plus one of `deployment`, `statefulset`, `daemonset`,
    `helm_release`, or `rollcheck_target` (`deployment/shop`). Raises ValueError with the reason otherwise."""
    namespace = labels.get("namespace")
    if not namespace:
        raise ValueError("the alert has no namespace label, so the workload cannot be found")
    try:
        namespace = parse_namespace(namespace)
    except ValueError as error:
        raise ValueError(f"namespace label {namespace!r} {error}") from None
    if TARGET_LABEL in labels:
        try:
            return AlertTarget(TargetRef.parse(labels[TARGET_LABEL]), namespace)
        except ValueError as error:
            raise ValueError(f"{TARGET_LABEL} label {labels[TARGET_LABEL]!r}: {error}") from None
    named = [(label, kind) for label, kind in KIND_LABELS.items() if labels.get(label)]
    if not named:
        wanted = ", ".join([*KIND_LABELS, TARGET_LABEL])
        raise ValueError(f"the alert's labels name no workload: expected one of {wanted}")
    if len(named) > 1:
        shown = ", ".join(f"{label}={labels[label]!r}" for label, _ in named)
        raise ValueError(f"the alert's labels name more than one workload ({shown}); set {TARGET_LABEL} instead")
    label, kind = named[0]
    try:
        return AlertTarget(TargetRef.parse(f"{kind.value}/{labels[label]}"), namespace)
    except ValueError as error:
        raise ValueError(f"{label} label {labels[label]!r}: {error}") from None
