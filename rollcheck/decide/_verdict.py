"""verdict: the checks' outcomes, classified into one verdict with a one-sentence reason.

Rules (documented in the README, "Verdicts"):
- any gating check failed → failed;
- otherwise any gating check inconclusive or errored (it could not measure, or broke before measuring) →
  inconclusive;
- otherwise, if no gating check ran at all → inconclusive ("nothing was checked");
- otherwise → passed.
Advisory checks are reported but never change the verdict. Skipped checks are neither evidence for nor against.
A flaky check (failed, then passed when re-run) counts as passed: a failure nobody could reproduce never rolls
back, though the reason names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..record._model import CheckOutcome
from ..record._model import CheckResult
from ..record._model import Verdict

__all__ = ["Judgement", "judge"]


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str
    """One sentence that names the checks behind the verdict."""
    deciding_checks: tuple[CheckResult, ...]
    """The gating checks that made the verdict what it is (failed ones, or inconclusive ones)."""


def _names(checks: Sequence[CheckResult], limit: int = 3) -> str:
    shown = ", ".join(c.id for c in checks[:limit])
    more = len(checks) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def judge(checks: Sequence[CheckResult], *, blocking_problem: str | None = None) -> Judgement:
    """Classify the run. `blocking_problem` is a reason no check can be trusted (the release could not be
    read, or it is not the release CI deployed): the verdict is then inconclusive whatever the checks said."""
    gating = [c for c in checks if c.gating]
    failed = tuple(c for c in gating if c.outcome is CheckOutcome.FAILED)
    unsure = tuple(c for c in gating if c.outcome in (CheckOutcome.INCONCLUSIVE, CheckOutcome.ERROR))
    if blocking_problem is not None:
        return Judgement(Verdict.INCONCLUSIVE, blocking_problem, failed + unsure)
    if failed:
        return Judgement(Verdict.FAILED, f"{len(failed)} gating check(s) failed: {_names(failed)}", failed)
    if unsure:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"{len(unsure)} gating check(s) could not measure: {_names(unsure)}",
            unsure,
        )
    ran = [c for c in gating if c.outcome in (CheckOutcome.PASSED, CheckOutcome.FLAKY)]
    if not ran:
        return Judgement(Verdict.INCONCLUSIVE, "no gating check ran, so nothing was verified", ())
    flaky = [c for c in ran if c.outcome is CheckOutcome.FLAKY]
    note = f" ({len(flaky)} flaky: failed, then passed when re-run: {_names(flaky)})" if flaky else ""
    return Judgement(Verdict.PASSED, f"all {len(ran)} gating check(s) passed{note}", ())
