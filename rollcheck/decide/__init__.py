"""verdict and decide: classify the checks' outcomes, then decide what to do. Pure functions, no I/O."""

from __future__ import annotations

from ._exit import exit_code
from ._policy import Decision
from ._policy import Step
from ._policy import decide
from ._verdict import Judgement
from ._verdict import judge

__all__ = ["Decision", "Judgement", "Step", "decide", "exit_code", "judge"]
