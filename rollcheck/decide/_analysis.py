"""Analysis over time (`--watch`): the rules that turn repeated measurements of the metric checks into one
status. Pure functions, no I/O; the plugin calls `analyse` after every round and stops once it is decided.

Rules, applied to each metric check on its own, measurement by measurement in time order; the first limit a
check reaches decides it:

- `failure-limit` failed measurements in all → failed;
- `consecutive-failure-limit` failed measurements in a row → failed. A measurement that could not judge
  (insufficient data or inconclusive) neither breaks nor extends a run of failures; a passed one breaks it;
- `inconclusive-limit` measurements that could not judge → inconclusive;
- none reached when the watch has ended → passed, provided at least one measurement passed. Otherwise
  inconclusive, for one of two reasons, each its own rule:
  - `no-judged-measurement`: no measurement judged at all (every one insufficient or inconclusive): too
    little evidence is never a pass;
  - `no-passed-measurement`: some measurements judged, and every one of them failed, but fewer than the
    limits (one failure between measurements that could not judge, say). The limits say that is not enough
    to roll back, but a check that was never once seen within its thresholds has not passed either.

The analysis is failed as soon as one check is failed, otherwise inconclusive as soon as one is inconclusive
(the watch stops then: the release cannot pass any more), otherwise passed when the watch has ended with every
check passed, otherwise incomplete (keep watching).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..record._analysis import AnalysisMeasurement
from ..record._analysis import AnalysisStatus
from ..record._analysis import MeasurementOutcome
from ..settings._model import Settings
from ..settings._parse import format_duration

__all__ = ["AnalysisResult", "AnalysisRules", "CheckAnalysis", "analyse", "describe_watch"]

_JUDGED = (MeasurementOutcome.PASSED, MeasurementOutcome.FAILED)


@dataclass(frozen=True, kw_only=True)
class AnalysisRules:
    """The limits, as resolved from the settings (`failure-limit`, `consecutive-failure-limit`,
    `inconclusive-limit`); each is at least 1."""

    failure_limit: int
    """Failed measurements of one check, in all, that fail the analysis."""
    consecutive_failure_limit: int
    """Failed measurements of one check in a row that fail the analysis."""
    inconclusive_limit: int
    """Measurements of one check that could not judge that make the analysis inconclusive."""


@dataclass(frozen=True, kw_only=True)
class CheckAnalysis:
    """What the rules make of one check's measurements."""

    check: str
    """The check's node id."""
    status: AnalysisStatus
    """Its status; incomplete while no rule has fired and the watch goes on."""
    deciding_rule: str | None
    """The rule that fired (see the module docstring); None while incomplete."""
    reason: str
    """The counts, the limit and the deciding measurement's own message, in one sentence."""
    decided_at_round: int | None
    """The round of the measurement that decided; None while incomplete or when the watch's end decided."""


@dataclass(frozen=True, kw_only=True)
class AnalysisResult:
    """The whole analysis after some rounds."""

    status: AnalysisStatus
    """Failed, inconclusive, passed, or incomplete (keep watching)."""
    deciding_rule: str | None
    """The rule that decided the deciding check; None while incomplete."""
    reason: str
    """One sentence naming the deciding check and why."""
    checks: tuple[CheckAnalysis, ...]
    """Every check that has measurements, in the order of their first measurement."""


def _counts(failed: int, unjudged: int, passed: int) -> str:
    return f"{failed} failed, {unjudged} could not judge, {passed} passed"


def _one_check(
    check: str, measurements: Sequence[AnalysisMeasurement], rules: AnalysisRules, *, ended: bool
) -> CheckAnalysis:
    failed = streak = unjudged = passed = 0
    for measurement in measurements:
        if measurement.outcome is MeasurementOutcome.FAILED:
            failed += 1
            streak += 1
        elif measurement.outcome is MeasurementOutcome.PASSED:
            passed += 1
            streak = 0
        else:
            unjudged += 1
        total = failed + unjudged + passed
        last = f"; last: {measurement.message}" if measurement.message else ""
        if measurement.outcome is MeasurementOutcome.FAILED and streak >= rules.consecutive_failure_limit:
            reason = (
                f"{streak} failed measurement(s) in a row reached the consecutive-failure-limit "
                f"{rules.consecutive_failure_limit} at round {measurement.round} "
                f"({_counts(failed, unjudged, passed)} of {total}){last}"
            )
            return CheckAnalysis(
                check=check,
                status=AnalysisStatus.FAILED,
                deciding_rule="consecutive-failure-limit",
                reason=reason,
                decided_at_round=measurement.round,
            )
        if measurement.outcome is MeasurementOutcome.FAILED and failed >= rules.failure_limit:
            reason = (
                f"{failed} failed measurement(s) reached the failure-limit {rules.failure_limit} at round "
                f"{measurement.round} ({_counts(failed, unjudged, passed)} of {total}){last}"
            )
            return CheckAnalysis(
                check=check,
                status=AnalysisStatus.FAILED,
                deciding_rule="failure-limit",
                reason=reason,
                decided_at_round=measurement.round,
            )
        if measurement.outcome not in _JUDGED and unjudged >= rules.inconclusive_limit:
            reason = (
                f"{unjudged} measurement(s) could not judge, reaching the inconclusive-limit "
                f"{rules.inconclusive_limit} at round {measurement.round} ({_counts(failed, unjudged, passed)} "
                f"of {total}){last}"
            )
            return CheckAnalysis(
                check=check,
                status=AnalysisStatus.INCONCLUSIVE,
                deciding_rule="inconclusive-limit",
                reason=reason,
                decided_at_round=measurement.round,
            )
    total = failed + unjudged + passed
    if not ended:
        return CheckAnalysis(
            check=check,
            status=AnalysisStatus.INCOMPLETE,
            deciding_rule=None,
            reason=f"undecided after {total} measurement(s): {_counts(failed, unjudged, passed)}",
            decided_at_round=None,
        )
    if passed == 0 and failed == 0:
        return CheckAnalysis(
            check=check,
            status=AnalysisStatus.INCONCLUSIVE,
            deciding_rule="no-judged-measurement",
            reason=f"no measurement could judge over the watch ({_counts(failed, unjudged, passed)} of {total}); "
            "too little evidence is never a pass",
            decided_at_round=None,
        )
    if passed == 0:
        return CheckAnalysis(
            check=check,
            status=AnalysisStatus.INCONCLUSIVE,
            deciding_rule="no-passed-measurement",
            reason=f"every judged measurement failed and none passed over the watch "
            f"({_counts(failed, unjudged, passed)} of {total}), below the failure-limit {rules.failure_limit} and "
            f"the consecutive-failure-limit {rules.consecutive_failure_limit}: too few failures to roll back, but "
            "never once within its thresholds, so not a pass",
            decided_at_round=None,
        )
    return CheckAnalysis(
        check=check,
        status=AnalysisStatus.PASSED,
        deciding_rule="watch-elapsed",
        reason=f"watched to the end without reaching a limit ({_counts(failed, unjudged, passed)} of {total})",
        decided_at_round=None,
    )


def analyse(measurements: Sequence[AnalysisMeasurement], rules: AnalysisRules, *, ended: bool) -> AnalysisResult:
    """Apply the rules to every measurement so far. `ended` says the watch duration has elapsed, so a check
    that reached no limit is judged now instead of being incomplete."""
    by_check: dict[str, list[AnalysisMeasurement]] = {}
    for measurement in measurements:
        by_check.setdefault(measurement.check, []).append(measurement)
    checks = tuple(_one_check(check, found, rules, ended=ended) for check, found in by_check.items())
    if not checks:
        return AnalysisResult(
            status=AnalysisStatus.INCONCLUSIVE if ended else AnalysisStatus.INCOMPLETE,
            deciding_rule="no-judged-measurement" if ended else None,
            reason="no metric check was measured, so nothing was watched",
            checks=(),
        )
    for status in (AnalysisStatus.FAILED, AnalysisStatus.INCONCLUSIVE):
        decided = [c for c in checks if c.status is status]
        if decided:
            # The earliest decision is the one that stopped the watch; a watch's end (None) comes last.
            first = min(decided, key=lambda c: float("inf") if c.decided_at_round is None else c.decided_at_round)
            return AnalysisResult(
                status=status,
                deciding_rule=first.deciding_rule,
                reason=f"{first.check}: {first.reason}",
                checks=checks,
            )
    if any(c.status is AnalysisStatus.INCOMPLETE for c in checks):
        return AnalysisResult(
            status=AnalysisStatus.INCOMPLETE,
            deciding_rule=None,
            reason=f"undecided: {len(checks)} metric check(s) within every limit so far",
            checks=checks,
        )
    return AnalysisResult(
        status=AnalysisStatus.PASSED,
        deciding_rule="watch-elapsed",
        reason=f"all {len(checks)} metric check(s) stayed within the limits for the whole watch",
        checks=checks,
    )


def describe_watch(settings: Settings) -> str:
    """The watch and its limits in one line, for the run's header."""
    return (
        f"metric checks every {format_duration(settings.interval)} for {format_duration(settings.watch)}; "
        f"failed at {settings.failure_limit} failed measurements or {settings.consecutive_failure_limit} in a row, "
        f"inconclusive at {settings.inconclusive_limit} that could not judge"
    )
