"""rollcheck's error hierarchy. Lower-level errors (kubernetes, Prometheus, httpx) are translated at the
boundary into these, with bodies truncated, so nothing above the clients sees a library exception or a secret.

    RollcheckError
    ├── ConfigError                 bad option value: names the option, the value and where it came from
    ├── MeasurementError            a check could not measure: the verdict becomes inconclusive
    │   ├── MetricsUnavailable      Prometheus unreachable, timed out, or answered garbage
    │   ├── InsufficientData        fewer samples or requests than the minimum evidence rule
    │   └── ClusterUnavailable      the Kubernetes API could not be read (after retries)
    ├── KubernetesError             an API call failed: status, reason, message (truncated)
    │   └── (status 403 → Forbidden, 404 → NotFound, 409/422 → Conflict)
    └── RollbackError               the rollback could not be done
        └── RollbackImpossible      nothing to roll back to, or not allowed (paused, frozen)

Example::

    try:
        outcome = engine.apply(plan)
    except rollcheck.RollbackError as error:
        record.rollback_failed(str(error))
"""

from __future__ import annotations

__all__ = [
    "ClusterUnavailable",
    "ConfigError",
    "Conflict",
    "Forbidden",
    "InsufficientData",
    "KubernetesError",
    "MeasurementError",
    "MetricsUnavailable",
    "NotFound",
    "RollbackError",
    "RollbackImpossible",
    "RollcheckError",
    "truncate",
]

#: Upstream bodies are cut to this many characters before they reach a message: enough to explain, too
#: short to carry a whole object (and whatever secret it holds) into logs and reports.
MAX_BODY_CHARS = 256


def truncate(text: str, limit: int = MAX_BODY_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RollcheckError(Exception):
    """Base class of every error rollcheck raises on purpose."""


class ConfigError(RollcheckError):
    """A configuration value is wrong. The message names the option, the value and its source."""

    def __init__(self, option: str, value: object, source: str, problem: str) -> None:
        self.option = option
        self.value = value
        self.source = source
        self.problem = problem
        super().__init__(f"{option}={value!r} (from {source}): {problem}")


class MeasurementError(RollcheckError):
    """A check could not measure what it was asked to. Its outcome is inconclusive, never pass or fail."""


class MetricsUnavailable(MeasurementError):
    """Prometheus could not be queried (unreachable, timed out, error status, malformed answer)."""


class InsufficientData(MeasurementError):
    """There was too little evidence (requests, samples) to judge."""


class ClusterUnavailable(MeasurementError):
    """The Kubernetes API could not be reached or read, after retries."""


class KubernetesError(RollcheckError):
    """A Kubernetes API call failed with an HTTP status."""

    def __init__(self, status: int, reason: str, message: str, *, operation: str = "") -> None:
        self.status = status
        self.reason = reason
        self.message = truncate(message)
        self.operation = operation
        where = f"{operation}: " if operation else ""
        super().__init__(f"{where}{status} {reason}: {self.message}")


class Forbidden(KubernetesError):
    """403: the identity rollcheck runs as may not do this (RBAC)."""


class NotFound(KubernetesError):
    """404: the object does not exist (any more)."""


class Conflict(KubernetesError):
    """409 or 422: the object changed under us or the patch did not apply."""


class RollbackError(RollcheckError):
    """The rollback could not be carried out."""


class RollbackImpossible(RollbackError):
    """There is nothing to roll back to, or rolling back is not allowed (a paused Deployment)."""
