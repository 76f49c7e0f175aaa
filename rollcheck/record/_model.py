"""The record of one run: evidence → verdict → decision → action → timings.

Writers (JSON, the log line, JUnit, HTML, Allure, notifications) render this record; they never compute.
`to_dict()` is the report.json schema (see the README, "Report schema"); bump SCHEMA_VERSION on any change
that is not purely additive.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from ._analysis import AnalysisRecord
from ._comparison import Comparison
from ._preflight import PreflightRecord
from ._times import utc_text

__all__ = [
    "SCHEMA_VERSION",
    "CheckCategory",
    "CheckOutcome",
    "CheckResult",
    "CiContext",
    "Measurement",
    "NotificationOutcome",
    "ReleaseSummary",
    "RollbackAction",
    "RollbackRecord",
    "RunRecord",
    "Severity",
    "Timings",
    "Verdict",
]

SCHEMA_VERSION = 1


class Verdict(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"


class CheckOutcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"
    """Could not measure: no data, too little data, Prometheus or the cluster unreachable."""
    ERROR = "error"
    """The check itself broke (an exception in setup or a bug in a custom check): not evidence about the release."""
    SKIPPED = "skipped"
    FLAKY = "flaky"
    """Failed, then passed when re-run (rollcheck_confirm): reported, never a reason to roll back."""


class CheckCategory(enum.StrEnum):
    HEALTH = "health"
    ROLLOUT = "rollout"
    ERROR_RATE = "error_rate"
    LATENCY = "latency"
    CUSTOM = "custom"


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class RollbackAction(enum.StrEnum):
    ROLLED_BACK = "rolled_back"
    DRY_RUN = "dry_run"
    DISABLED = "disabled"
    NOT_NEEDED = "not_needed"
    SKIPPED = "skipped"
    """Not done on purpose: already at that revision, or someone deployed after the verified revision."""
    FAILED = "failed"
    """Needed and attempted or impossible (paused, no history, API error)."""
    FROZEN = "frozen"
    """Needed, but the release declares rolling back unsafe (`rollcheck.dev/rollback: unsafe`): left as it is."""


@dataclass(frozen=True, kw_only=True)
class Measurement:
    query: str
    """The PromQL (or URL, or API read) that produced the value."""
    value: float | None
    """Observed value; None when nothing could be measured."""
    threshold: float | None = None
    """The limit it was compared with."""
    window: str | None = None
    """The window the value covers, for example `60s`."""
    at: datetime.datetime | None = None
    """When it was measured."""
    comparison: Comparison | None = None
    """For a baseline comparison: both samples, the Mann-Whitney U test and the judgement."""

    def to_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "query": self.query,
            "value": self.value,
            "threshold": self.threshold,
            "window": self.window,
            "at": utc_text(self.at),
        }
        # Only baseline comparisons carry the key, so every other measurement keeps its schema-1 shape.
        if self.comparison is not None:
            shown["comparison"] = self.comparison.to_dict()
        return shown


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    id: str
    """The pytest node id."""
    category: CheckCategory
    outcome: CheckOutcome
    gating: bool
    """False for advisory checks: reported, never a reason to roll back."""
    severity: Severity
    duration_s: float
    message: str
    """Why it failed or was inconclusive: query, observed value, threshold and window where they apply."""
    measurements: tuple[Measurement, ...] = ()
    attempts: int = 1
    """How often it ran: more than once when a failure was re-run to confirm it (rollcheck_confirm)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category.value,
            "outcome": self.outcome.value,
            "gating": self.gating,
            "severity": self.severity.value,
            "duration_s": round(self.duration_s, 3),
            "message": self.message,
            "measurements": [m.to_dict() for m in self.measurements],
            "attempts": self.attempts,
        }


@dataclass(frozen=True, kw_only=True)
class ReleaseSummary:
    revision: int | None = None
    images: tuple[str, ...] = ()
    version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"revision": self.revision, "images": list(self.images), "version": self.version}


@dataclass(frozen=True, kw_only=True)
class RollbackRecord:
    action: RollbackAction
    reason: str
    """Why this action: the decision rule that fired, or why it was skipped or failed."""
    from_revision: int | None = None
    to_revision: int | None = None
    from_version: str | None = None
    to_version: str | None = None
    started_at: datetime.datetime | None = None
    issued_at: datetime.datetime | None = None
    """When the rollback request was accepted by the API (the decision-to-action latency ends here)."""
    finished_at: datetime.datetime | None = None
    recovered: bool | None = None
    """Did the health checks pass against the restored revision? None when not rolled back or unknown."""
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "from_revision": self.from_revision,
            "to_revision": self.to_revision,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "reason": self.reason,
            "started_at": utc_text(self.started_at),
            "issued_at": utc_text(self.issued_at),
            "finished_at": utc_text(self.finished_at),
            "recovered": self.recovered,
            "error": self.error,
        }


@dataclass(frozen=True, kw_only=True)
class Timings:
    started_at: datetime.datetime | None = None
    verdict_at: datetime.datetime | None = None
    rollback_issued_at: datetime.datetime | None = None
    rollback_completed_at: datetime.datetime | None = None
    finished_at: datetime.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "started_at": utc_text(self.started_at),
            "verdict_at": utc_text(self.verdict_at),
            "rollback_issued_at": utc_text(self.rollback_issued_at),
            "rollback_completed_at": utc_text(self.rollback_completed_at),
            "finished_at": utc_text(self.finished_at),
        }


@dataclass(frozen=True, kw_only=True)
class CiContext:
    """Read from the usual CI variables (GitHub Actions, GitLab CI, Jenkins, generic)."""

    ci: str | None = None
    pipeline_id: str | None = None
    commit: str | None = None
    job_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ci": self.ci,
            "pipeline_id": self.pipeline_id,
            "commit": self.commit,
            "job_url": self.job_url,
        }


@dataclass(frozen=True, kw_only=True)
class NotificationOutcome:
    """What one notification sink (Slack, WeCom, webhook, Kubernetes Event) made of this run's record."""

    sink: str
    """`slack`, `wecom`, `webhook` or `kubernetes-event`."""
    delivered: bool
    """Did the receiver accept it?"""
    attempts: int
    """Requests sent, retries included; 0 when nothing was sent."""
    error: str | None = None
    """Why it was not delivered (or not sent), never holding a URL's secret part."""

    def to_dict(self) -> dict[str, Any]:
        return {"sink": self.sink, "delivered": self.delivered, "attempts": self.attempts, "error": self.error}


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    verdict: Verdict
    target: str | None
    namespace: str
    release: ReleaseSummary
    checks: tuple[CheckResult, ...]
    rollback: RollbackRecord
    timings: Timings
    context: CiContext
    exit_code: int
    reason: str
    """One sentence: why the verdict is what it is."""
    errors: tuple[str, ...] = field(default=())
    """Problems outside the checks (cluster unreachable at start, report sink failures)."""
    notifications: tuple[NotificationOutcome, ...] = field(default=())
    """One per notification sink that was due; a failed one never changes the exit code or the rollback."""
    preflight: PreflightRecord = field(default_factory=PreflightRecord)
    """Whether a rollback would have been possible, as found before the checks ran."""
    analysis: AnalysisRecord | None = None
    """Analysis over time (`--watch`); None when the run did not watch."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "exit_code": self.exit_code,
            "target": self.target,
            "namespace": self.namespace,
            "release": self.release.to_dict(),
            "checks": [c.to_dict() for c in self.checks],
            "rollback": self.rollback.to_dict(),
            "timings": self.timings.to_dict(),
            "context": self.context.to_dict(),
            "errors": list(self.errors),
            "notifications": [n.to_dict() for n in self.notifications],
            "preflight": self.preflight.to_dict(),
            "analysis": self.analysis.to_dict() if self.analysis else None,
        }
