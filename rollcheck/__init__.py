"""rollcheck: post-deploy checks as pytest tests, and a kubectl-exact rollback when the release is bad."""

from __future__ import annotations

from ._errors import ClusterUnavailable
from ._errors import ConfigError
from ._errors import Conflict
from ._errors import Forbidden
from ._errors import InsufficientData
from ._errors import KubernetesError
from ._errors import MeasurementError
from ._errors import MetricsUnavailable
from ._errors import NotFound
from ._errors import RollbackError
from ._errors import RollbackImpossible
from ._errors import RollcheckError
from ._exitcodes import ExitCode
from ._version import __version__

__all__ = [
    "ClusterUnavailable",
    "ConfigError",
    "Conflict",
    "ExitCode",
    "Forbidden",
    "InsufficientData",
    "KubernetesError",
    "MeasurementError",
    "MetricsUnavailable",
    "NotFound",
    "RollbackError",
    "RollbackImpossible",
    "RollcheckError",
    "__version__",
]
