"""record: the run record (evidence → verdict → decision → action → timings) and the writers that render it."""

from __future__ import annotations

from ._comparison import Comparison
from ._comparison import ComparisonOutcome
from ._comparison import SampleSummary
from ._model import SCHEMA_VERSION
from ._model import CheckCategory
from ._model import CheckOutcome
from ._model import CheckResult
from ._model import CiContext
from ._model import Measurement
from ._model import NotificationOutcome
from ._model import ReleaseSummary
from ._model import RollbackAction
from ._model import RollbackRecord
from ._model import RunRecord
from ._model import Severity
from ._model import Timings
from ._model import Verdict
from ._preflight import PreflightProblem
from ._preflight import PreflightRecord

__all__ = [
    "SCHEMA_VERSION",
    "CheckCategory",
    "CheckOutcome",
    "CheckResult",
    "CiContext",
    "Comparison",
    "ComparisonOutcome",
    "Measurement",
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
