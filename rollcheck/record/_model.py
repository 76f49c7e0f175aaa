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

__all__ = [
    "SCHEMA_VERSION",
    "AnalysisMeasurement",
    "AnalysisRecord",
    "AnalysisStatus",
    "CheckCategory",
    "CheckOutcome",
    "CheckResult",
    "CiContext",
    "Comparison",
    "ComparisonOutcome",
    "Measurement",
    "MeasurementOutcome",
    "NotificationOutcome",
    "PreflightProblem",
    "PreflightRecord",
    "ReleaseSummary",
    "RollbackAction",
    "RollbackRecord",
    "RunRecord",
    "SampleSummary",
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


def _time(value: datetime.datetime | None) -> str | None:
    return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z") if value else None


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
            "at": _time(self.at),
        }
        # Only baseline comparisons carry the key, so every other measurement keeps its schema-1 shape.
        if self.comparison is not None:
            shown["comparison"] = self.comparison.to_dict()
        return shown


class ComparisonOutcome(enum.StrEnum):
    PASSED = "passed"
    """No difference in the bad direction that is both significant and beyond the tolerance."""
    FAILED = "failed"
    """Significantly worse than the baseline, by more than the tolerance."""
    INSUFFICIENT_DATA = "insufficient_data"
    """Too few samples on either side to judge: inconclusive, never pass or fail."""


@dataclass(frozen=True, kw_only=True)
class SampleSummary:
    """One side of a baseline comparison, summarised."""

    n: int
    """How many samples (per-interval values) there are."""
    median: float | None
    """Their median; None without samples."""
    mean: float | None
    """Their mean; None without samples."""
    minimum: float | None
    """The smallest; None without samples."""
    maximum: float | None
    """The largest; None without samples."""

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "median": self.median, "mean": self.mean, "min": self.minimum, "max": self.maximum}


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """The release's samples against the baseline's, judged with a one- or two-sided Mann-Whitney U test."""

    baseline: SampleSummary
    """The previous release's samples (its pods meanwhile, or the service before the rollout)."""
    canary: SampleSummary
    """The release's samples."""
    statistic: float | None
    """The U statistic of the release's samples; None when there were too few samples to test."""
    p_value: float | None
    """The test's p-value for the configured direction; None when there were too few samples."""
    effect_size: float | None
    """Relative change of the mean, (release - baseline) / |baseline|; inf from a zero baseline."""
    direction: str
    """Which change is bad: increase, decrease or either."""
    confidence: float
    """A difference counts when p < 1 - confidence."""
    tolerance: float
    """A relative change up to this is no failure, however significant."""
    outcome: ComparisonOutcome
    """The judgement."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "baseline": self.baseline.to_dict(),
            "canary": self.canary.to_dict(),
            "statistic": self.statistic,
            "p_value": self.p_value,
            "effect_size": self.effect_size,
            "direction": self.direction,
            "confidence": self.confidence,
            "tolerance": self.tolerance,
        }


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
            "started_at": _time(self.started_at),
            "issued_at": _time(self.issued_at),
            "finished_at": _time(self.finished_at),
            "recovered": self.recovered,
            "error": self.error,
        }


@dataclass(frozen=True, kw_only=True)
class PreflightProblem:
    """One reason a rollback would not be possible, found before any check ran."""

    check: str
    """Which question found it: previous_revision, revision_history_limit, paused or patch_allowed."""
    message: str
    """What was found and what to do about it."""

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "message": self.message}


@dataclass(frozen=True, kw_only=True)
class PreflightRecord:
    """Would a rollback be possible? Asked at the start of the run, right after the release was read."""

    checked: bool = False
    """False when preflight did not run (no target, the release could not be read, rollback off)."""
    problems: tuple[PreflightProblem, ...] = ()
    """What would stop a rollback; warnings, or the reason nothing ran with --require-rollback-ready."""
    notes: tuple[str, ...] = ()
    """Questions that were skipped and why (a kind without a history check yet, rollback off)."""
    required: bool = False
    """--require-rollback-ready was set: any problem stops the run before the checks."""

    @property
    def blocking(self) -> bool:
        """Did preflight stop the run before any check?"""
        return self.required and bool(self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "ready": self.checked and not self.problems,
            "required": self.required,
            "problems": [problem.to_dict() for problem in self.problems],
            "notes": list(self.notes),
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
            "started_at": _time(self.started_at),
            "verdict_at": _time(self.verdict_at),
            "rollback_issued_at": _time(self.rollback_issued_at),
            "rollback_completed_at": _time(self.rollback_completed_at),
            "finished_at": _time(self.finished_at),
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


class MeasurementOutcome(enum.StrEnum):
    """What one repetition of a metric check during a watch found."""

    PASSED = "passed"
    FAILED = "failed"
    INSUFFICIENT = "insufficient"
    """Too little evidence to judge (InsufficientData: fewer requests than --min-requests, no data)."""
    INCONCLUSIVE = "inconclusive"
    """Could not measure for another reason (Prometheus unreachable, a timeout, the check broke)."""


class AnalysisStatus(enum.StrEnum):
    PASSED = "passed"
    """The watch ran its whole duration and no limit was reached."""
    FAILED = "failed"
    """A failure limit was reached: the metric checks judge the release bad."""
    INCONCLUSIVE = "inconclusive"
    """The inconclusive limit was reached, or a check never once measured something it could judge."""
    INCOMPLETE = "incomplete"
    """Not decided yet (still watching), or the run stopped before the watch ended."""


@dataclass(frozen=True, kw_only=True)
class AnalysisMeasurement:
    """One repetition of one metric check during a watch: what the analysis rules count."""

    round: int
    """0 for the run's ordinary pass over the checks, then 1, 2, … one per interval."""
    check: str
    """The check's pytest node id."""
    outcome: MeasurementOutcome
    """What this repetition found."""
    at: datetime.datetime
    """When the repetition finished."""
    query: str | None = None
    """The last query the check recorded (its judged quantity); None when it recorded none."""
    value: float | None = None
    """That query's value."""
    threshold: float | None = None
    """The limit it was compared with."""
    window: str | None = None
    """The window the value covers, for example `5s`."""
    message: str = ""
    """The check's own words when it did not pass."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "round": self.round,
            "check": self.check,
            "outcome": self.outcome.value,
            "at": _time(self.at),
            "query": self.query,
            "value": self.value,
            "threshold": self.threshold,
            "window": self.window,
            "message": self.message,
        }


@dataclass(frozen=True, kw_only=True)
class AnalysisRecord:
    """Analysis over time (`--watch`): every measurement of the metric checks and the rule that decided."""

    status: AnalysisStatus
    """The analysis' verdict on the metric checks."""
    deciding_rule: str | None
    """`failure-limit`, `consecutive-failure-limit`, `inconclusive-limit`, `no-judged-measurement` or
    `watch-elapsed`; None while incomplete."""
    reason: str
    """One sentence naming the check, the counts and the limit."""
    watch_s: float
    """The watch duration asked for, in seconds."""
    interval_s: float
    """Time between rounds, in seconds; each round measures over this window."""
    failure_limit: int
    """Failed measurements of one check that fail the analysis."""
    consecutive_failure_limit: int
    """Failed measurements of one check in a row (unjudged ones between them do not break the run) that fail it."""
    inconclusive_limit: int
    """Measurements of one check that could not judge (insufficient or inconclusive) that make it inconclusive."""
    rounds: int
    """Rounds completed after the ordinary pass (round 0)."""
    started_at: datetime.datetime | None = None
    """When round 0 ended and the watch began."""
    finished_at: datetime.datetime | None = None
    """When the watch stopped."""
    measurements: tuple[AnalysisMeasurement, ...] = ()
    """Every measurement, in order."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "deciding_rule": self.deciding_rule,
            "reason": self.reason,
            "watch_s": self.watch_s,
            "interval_s": self.interval_s,
            "rules": {
                "failure_limit": self.failure_limit,
                "consecutive_failure_limit": self.consecutive_failure_limit,
                "inconclusive_limit": self.inconclusive_limit,
            },
            "rounds": self.rounds,
            "started_at": _time(self.started_at),
            "finished_at": _time(self.finished_at),
            "measurements": [m.to_dict() for m in self.measurements],
        }


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
