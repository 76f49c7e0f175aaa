"""From pytest's reports to rollcheck check results.

Each phase report carries its classification in `user_properties` (name "rollcheck"), computed on the process
that ran the check, where the exception is still at hand. That survives xdist's serialisation, so the
controller builds the same results from the reports it receives.

Classification:
- an assertion (or any exception) in the check itself → failed: the release misbehaved;
- a MeasurementError (no data, too little data, Prometheus or the cluster unreachable) anywhere, or the check
  timing out (it hung, so it measured nothing) → inconclusive;
- any other exception in setup or teardown (a broken fixture, a usage problem) → error: not evidence;
- skipped → skipped.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import pytest

from rollcheck import InsufficientData
from rollcheck import MeasurementError
from rollcheck.record import CheckCategory
from rollcheck.record import CheckOutcome
from rollcheck.record import CheckResult
from rollcheck.record import Comparison
from rollcheck.record import ComparisonOutcome
from rollcheck.record import Measurement
from rollcheck.record import SampleSummary
from rollcheck.record import Severity

from ._confirm import confirm_phase
from ._markers import check_kind_or_default
from ._state import MEASUREMENTS_KEY

__all__ = ["PROPERTY", "CheckCollector", "classify_phase"]

PROPERTY = "rollcheck"
_MAX_MESSAGE = 2000


def _message(call: pytest.CallInfo[None]) -> str:
    """What went wrong, in the check's own words. For an assertion with a message, pytest's introspection
    (the `assert …` and `where …` lines, full of object reprs) is dropped: the message is the evidence."""
    if call.excinfo is None:
        return ""
    text = call.excinfo.exconly()
    if call.excinfo.errisinstance(AssertionError):
        text = text.removeprefix("AssertionError: ")
        own_words, introspection, _ = text.partition("\nassert ")
        if introspection and own_words.strip():
            text = own_words
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _timed_out(call: pytest.CallInfo[None]) -> bool:
    """pytest-timeout ended the check: it hung (a stuck query, a stuck custom check), so it measured nothing.
    Every client has its own shorter timeout, so a slow release shows up as a failed probe, not as this."""
    assert call.excinfo is not None
    return call.excinfo.errisinstance(pytest.fail.Exception) and str(call.excinfo.value).endswith(
        "from pytest-timeout."
    )


def _phase_outcome(report: pytest.TestReport, call: pytest.CallInfo[None]) -> CheckOutcome:
    if report.passed:
        return CheckOutcome.PASSED
    if report.skipped:
        return CheckOutcome.SKIPPED
    if call.excinfo is not None and (call.excinfo.errisinstance(MeasurementError) or _timed_out(call)):
        return CheckOutcome.INCONCLUSIVE
    return CheckOutcome.FAILED if report.when == "call" else CheckOutcome.ERROR


def classify_phase(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> dict[str, Any]:
    kind = check_kind_or_default(item)  # a marker's problem is the check's error (see the session's setup hook)
    outcome = _phase_outcome(report, call)
    message = _message(call)
    if outcome is CheckOutcome.SKIPPED and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2])
    confirmed = confirm_phase(item, report, outcome, message)
    outcome, message = confirmed.outcome, confirmed.message
    return {
        "phase": report.when,
        "attempt": confirmed.attempt,
        "outcome": outcome.value,
        "category": kind.category.value,
        "severity": kind.severity.value,
        "gating": kind.gating,
        "message": message,
        "measurements": [m.to_dict() for m in item.stash.get(MEASUREMENTS_KEY, [])],
        # Too little evidence (InsufficientData) rather than no measurement at all: a watch counts them apart.
        "insufficient": call.excinfo is not None and call.excinfo.errisinstance(InsufficientData),
    }


def payload_of(report: pytest.TestReport) -> dict[str, Any] | None:
    for name, value in getattr(report, "user_properties", ()):
        if name == PROPERTY and isinstance(value, dict):
            return value
    return None


def _summary(raw: dict[str, Any]) -> SampleSummary:
    return SampleSummary(
        n=int(raw["n"]), median=raw["median"], mean=raw["mean"], minimum=raw["min"], maximum=raw["max"]
    )


def _comparison(raw: dict[str, Any] | None) -> Comparison | None:
    if raw is None:
        return None
    return Comparison(
        baseline=_summary(raw["baseline"]),
        canary=_summary(raw["canary"]),
        statistic=raw["statistic"],
        p_value=raw["p_value"],
        effect_size=raw["effect_size"],
        direction=str(raw["direction"]),
        confidence=float(raw["confidence"]),
        tolerance=float(raw["tolerance"]),
        outcome=ComparisonOutcome(raw["outcome"]),
    )


def _measurement(raw: dict[str, Any]) -> Measurement:
    at = raw.get("at")
    return Measurement(
        query=str(raw.get("query", "")),
        value=raw.get("value"),
        threshold=raw.get("threshold"),
        window=raw.get("window"),
        at=datetime.datetime.fromisoformat(at.replace("Z", "+00:00")) if isinstance(at, str) else None,
        comparison=_comparison(raw.get("comparison")),
    )


@dataclass
class _Partial:
    payload: dict[str, Any]
    outcome: CheckOutcome
    message: str
    duration: float = 0.0
    measurements: list[dict[str, Any]] = field(default_factory=list)
    attempt: int = 1


class CheckCollector:
    """Merges the setup, call and teardown reports of each check into one CheckResult."""

    def __init__(self) -> None:
        self._checks: dict[str, _Partial] = {}

    def add(self, report: pytest.TestReport) -> None:
        payload = payload_of(report)
        if payload is None:
            if report.failed:
                # Made by xdist on the controller when a worker died mid-check: no classification came with it.
                self._worker_crash(report)
            return
        outcome = CheckOutcome(payload["outcome"])
        partial = self._checks.get(report.nodeid)
        attempt = int(payload.get("attempt", 1))
        if partial is None:
            partial = self._checks[report.nodeid] = _Partial(payload, outcome, payload["message"])
        elif (
            attempt > partial.attempt
            or report.when == "call"
            or (
                report.when == "teardown"
                and partial.outcome is CheckOutcome.PASSED
                and outcome is not CheckOutcome.PASSED
            )
        ):
            partial.outcome, partial.message = outcome, payload["message"]
        # A re-run (rollcheck_confirm) starts afresh: its setup's outcome replaces the failed attempt's.
        partial.attempt = max(partial.attempt, attempt)
        partial.duration += report.duration
        if payload["measurements"]:
            partial.measurements = payload["measurements"]

    def _worker_crash(self, report: pytest.TestReport) -> None:
        message = f"the process running this check died: {report.longreprtext[-_MAX_MESSAGE:]}"
        partial = self._checks.get(report.nodeid)
        if partial is None:
            payload = {"category": "custom", "severity": "critical", "gating": True, "measurements": []}
            self._checks[report.nodeid] = _Partial(payload, CheckOutcome.ERROR, message, report.duration)
        else:
            partial.outcome, partial.message = CheckOutcome.ERROR, message

    def results(self) -> tuple[CheckResult, ...]:
        return tuple(
            CheckResult(
                id=nodeid,
                category=CheckCategory(partial.payload["category"]),
                outcome=partial.outcome,
                gating=bool(partial.payload["gating"]),
                severity=Severity(partial.payload["severity"]),
                duration_s=partial.duration,
                message=partial.message,
                measurements=tuple(_measurement(m) for m in partial.measurements),
                attempts=partial.attempt,
            )
            for nodeid, partial in self._checks.items()
        )
