"""A gate inside Flagger's canary analysis: `POST /flagger/check` runs the configured suite against the canary.

Flagger posts `{"name", "namespace", "phase", "checksum", "metadata"}` to each webhook (pre-rollout, rollout,
confirm-promotion) and reads only the status: 2xx lets the canary advance, anything else holds it back and
counts towards its failure threshold. So a passing suite answers 200 and a failing one 412. A suite without a
verdict (could not measure, timed out, could not run) follows --on-inconclusive, as a `rollcheck run` would:
`pass` answers 200, `fail` (the default) and `rollback` answer 503. The body always says why. Without
--flagger-suite the route does not exist (404, see _http): every canary would otherwise be held back.

The workload checked is `deployment/<name>` (Flagger's canary Deployment carries the Canary's name), or the
webhook's `metadata.target` (`statefulset/db`) when that is set.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from ..settings import OnInconclusive
from ..settings._parse import parse_namespace
from ..target import TargetRef
from ._alerts import AlertTarget
from ._alerts import PayloadError
from ._config import ServeConfig
from ._events import EventDesk
from ._metrics import ServeMetrics
from ._suite import SuiteOutcome
from ._suite import run_suite

__all__ = ["FlaggerGate", "FlaggerRequest", "parse_flagger"]

_STATUS = {SuiteOutcome.PASSED: 200, SuiteOutcome.FAILED: 412, SuiteOutcome.INCONCLUSIVE: 503}
#: An inconclusive suite's answer under --on-inconclusive: only `pass` lets the canary advance.
_INCONCLUSIVE_STATUS = {OnInconclusive.PASS: 200, OnInconclusive.FAIL: 503, OnInconclusive.ROLLBACK: 503}


@dataclass(frozen=True, kw_only=True)
class FlaggerRequest:
    """One call of a Flagger webhook."""

    canary: str
    """The Canary's name."""
    where: AlertTarget
    """The workload to check and its namespace."""
    phase: str | None = None
    """The canary's phase (Progressing, Promoting, …), for the record."""
    checksum: str | None = None
    """Flagger's hash of the canary's configuration: which rollout this call belongs to."""
    metadata: Mapping[str, str] = field(default_factory=dict)
    """The webhook's metadata from the Canary spec."""


def parse_flagger(data: object) -> FlaggerRequest:
    """Raises PayloadError naming what does not fit Flagger's webhook payload."""
    if not isinstance(data, dict):
        raise PayloadError("expected a JSON object (Flagger's webhook payload)")
    name, namespace = data.get("name"), data.get("namespace")
    if not isinstance(name, str) or not name or not isinstance(namespace, str) or not namespace:
        raise PayloadError("Flagger's payload needs the canary's name and namespace")
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict) or not all(isinstance(value, str) for value in metadata.values()):
        raise PayloadError("metadata must be an object of strings")
    try:
        namespace = parse_namespace(namespace)
    except ValueError as error:
        raise PayloadError(f"namespace {namespace!r} {error}") from None
    target_text = metadata.get("target", f"deployment/{name}")
    try:
        target = TargetRef.parse(target_text)
    except ValueError as error:
        where = "metadata.target" if "target" in metadata else "the canary name"
        raise PayloadError(f"{where} {target_text!r}: {error}") from None
    phase, checksum = data.get("phase"), data.get("checksum")
    return FlaggerRequest(
        canary=name,
        where=AlertTarget(target, namespace),
        phase=phase if isinstance(phase, str) else None,
        checksum=checksum if isinstance(checksum, str) else None,
        metadata=metadata,
    )


class FlaggerGate:
    """Answers Flagger's webhook calls with the verdict of `--flagger-suite`."""

    def __init__(self, config: ServeConfig, desk: EventDesk, metrics: ServeMetrics) -> None:
        self.config = config
        self.desk = desk
        self.metrics = metrics

    def check(self, request: FlaggerRequest) -> tuple[int, dict[str, Any]]:
        where = request.where
        about: dict[str, Any] = {"canary": request.canary, "target": str(where.target), "namespace": where.namespace}
        allowed = self.config.allow_namespaces
        if allowed and where.namespace not in allowed:
            reason = f"namespace {where.namespace!r} is not one of --allow-namespace {', '.join(sorted(allowed))}"
            return 403, {**about, "outcome": "refused", "reason": reason}
        suite = self.config.flagger_suite
        assert suite is not None, "the route is not served without --flagger-suite"
        with self.desk.exclusive(where, timeout=self.config.suite_timeout) as free:
            if not free:
                reason = f"another check or rollback of {where.target} is still running"
                return 503, {**about, "outcome": "inconclusive", "reason": reason}
            stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
            name = f"flagger-{stamp}-{where.namespace}-{where.target.name}-{uuid.uuid4().hex[:6]}"
            result = run_suite(
                suite,
                where.target,
                where.namespace,
                self.config.settings,
                report_dir=self.config.settings.report_dir / name,
                timeout=self.config.suite_timeout,
            )
        self.metrics.count("rollcheck_serve_flagger_checks_total", result.outcome.value)
        body = {
            **about,
            "outcome": result.outcome.value,
            "reason": result.reason,
            "exit_code": result.exit_code,
            "report": str(result.report_dir / "report.json"),
        }
        if result.outcome is SuiteOutcome.INCONCLUSIVE:
            policy = self.config.settings.on_inconclusive
            body["on_inconclusive"] = policy.value
            body["reason"] = f"{result.reason} (inconclusive; --on-inconclusive={policy.value})"
            return _INCONCLUSIVE_STATUS[policy], body
        return _STATUS[result.outcome], body
