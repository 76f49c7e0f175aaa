"""verdict and decide: classify the checks' outcomes, then decide what to do. Pure functions, no I/O."""

from __future__ import annotations

from ._analysis import AnalysisResult
from ._analysis import AnalysisRules
from ._analysis import CheckAnalysis
from ._analysis import analyse
from ._analysis import describe_watch
from ._exit import exit_code
from ._policy import Decision
from ._policy import Step
from ._policy import decide
from ._policy import enforce_rollback_safety
from ._verdict import Judgement
from ._verdict import judge

__all__ = [
    "AnalysisResult",
    "AnalysisRules",
    "CheckAnalysis",
    "Decision",
    "Judgement",
    "Step",
    "analyse",
    "decide",
    "describe_watch",
    "enforce_rollback_safety",
    "exit_code",
    "judge",
]
