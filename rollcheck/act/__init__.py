"""act: carry out the decision with the target kind's rollback engine, on the session's warm connection."""

from __future__ import annotations

from ._connection import KEEPALIVE_SECONDS
from ._connection import SessionConnection
from ._recovery import check_recovery
from ._rollback import INTERRUPTED_ERROR
from ._rollback import PENDING_ERROR
from ._rollback import BeforeApply
from ._rollback import Interruptible
from ._rollback import RecoveryCheck
from ._rollback import carry_out

__all__ = [
    "INTERRUPTED_ERROR",
    "KEEPALIVE_SECONDS",
    "PENDING_ERROR",
    "BeforeApply",
    "Interruptible",
    "RecoveryCheck",
    "SessionConnection",
    "carry_out",
    "check_recovery",
]
