"""The analysis over time as the finish reads it: where the watch keeps its findings (`WATCH_KEY`) and how
they replace the metric checks' outcomes. The rounds themselves are in `_watch_rounds`, imported only when a
run is given `--watch`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from rollcheck.record import CheckOutcome
from rollcheck.record import CheckResult
from rollcheck.record._analysis import AnalysisRecord
from rollcheck.record._analysis import AnalysisStatus
from rollcheck.settings import format_duration

if TYPE_CHECKING:
    from rollcheck.decide import AnalysisResult

__all__ = ["WATCH_KEY", "Watched", "checks_with_analysis"]


@dataclass(frozen=True)
class Watched:
    """What the watch found so far: the report's section and the per-check statuses behind it."""

    record: AnalysisRecord
    """The report's `analysis` section."""
    result: AnalysisResult
    """The rules' result, per check."""


WATCH_KEY = pytest.StashKey[Watched]()
"""config.stash: the analysis over time, updated after every round (so an interrupted watch is still recorded)."""


def checks_with_analysis(checks: Sequence[CheckResult], watched: Watched | None) -> tuple[CheckResult, ...]:
    """The metric checks' outcomes as the analysis judged them, not as their last repetition happened to end.

    A check the analysis left undecided (the watch was stopped, or skipped because another check failed) is
    inconclusive: one sample is not the evidence the watch was asked for."""
    if watched is None:
        return tuple(checks)
    by_id = {analysis.check: analysis for analysis in watched.result.checks}
    status_to_outcome = {
        AnalysisStatus.PASSED: CheckOutcome.PASSED,
        AnalysisStatus.FAILED: CheckOutcome.FAILED,
        AnalysisStatus.INCONCLUSIVE: CheckOutcome.INCONCLUSIVE,
    }
    judged: list[CheckResult] = []
    for check in checks:
        analysis = by_id.get(check.id)
        if analysis is None:
            judged.append(check)
            continue
        outcome = status_to_outcome.get(analysis.status, CheckOutcome.INCONCLUSIVE)
        message = f"analysis over {format_duration(watched.record.watch_s)}: {analysis.reason}"
        if analysis.status is AnalysisStatus.INCOMPLETE:
            message = f"the watch stopped after round {watched.record.rounds}, undecided: {analysis.reason}"
        judged.append(dataclasses.replace(check, outcome=outcome, message=message))
    return tuple(judged)
