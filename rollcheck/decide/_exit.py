"""The exit status of a run, from the verdict, the decision and what the rollback did."""

from __future__ import annotations

from .._exitcodes import ExitCode
from ..record._model import RollbackAction
from ..record._model import RollbackRecord
from ..record._model import Verdict
from ..settings._model import OnInconclusive
from ._policy import Decision

__all__ = ["exit_code"]


def exit_code(
    verdict: Verdict, decision: Decision, rollback: RollbackRecord, on_inconclusive: OnInconclusive
) -> ExitCode:
    """0 passed; 1 failed and handled (rolled back and recovered, dry run, disabled, skipped on purpose);
    6 failed and the rollback failed, was impossible, or did not (provably) restore health; 7 inconclusive."""
    if decision.treat_as_failed:
        if rollback.action is RollbackAction.FAILED:
            return ExitCode.ROLLBACK_FAILED
        if rollback.action is RollbackAction.ROLLED_BACK and (rollback.recovered is False or rollback.error):
            return ExitCode.ROLLBACK_FAILED
        return ExitCode.FAILED
    if verdict is Verdict.INCONCLUSIVE and on_inconclusive is not OnInconclusive.PASS:
        return ExitCode.INCONCLUSIVE
    return ExitCode.PASSED
