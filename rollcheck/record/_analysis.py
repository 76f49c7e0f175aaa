"""Analysis over time in the record: every round's measurements and the rule that decided."""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass
from typing import Any

from ._times import utc_text


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
            "at": utc_text(self.at),
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
            "started_at": utc_text(self.started_at),
            "finished_at": utc_text(self.finished_at),
            "measurements": [m.to_dict() for m in self.measurements],
        }
