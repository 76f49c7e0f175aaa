"""The one retry loop every Kubernetes call goes through.

Only failures that may pass on their own are retried: the API server could not be reached or timed out,
answered 429 (API priority and fairness is shedding load) or a 5xx. Everything else (401, 403, 404, 409,
422 …) is an answer, and asking again would get the same one. Retrying a PATCH is safe for rollcheck's
rollback: its JSON patch carries a `test` op on the resourceVersion, so a replay of a patch that was in fact
applied fails with 422 instead of applying twice.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

from kubernetes.client.exceptions import ApiException

from ._errors import CALL_ERRORS
from ._errors import CallError
from ._errors import describe
from ._errors import http_status
from ._errors import translate

__all__ = ["RetryPolicy", "call_with_retries", "is_transient", "retries_until"]

log = logging.getLogger("rollcheck.kube")
T = TypeVar("T")

# A deadline on the monotonic clock that retries must not run past; set by whoever waits with a timeout. A
# context variable, so each thread (serve's workers, a keepalive) has its own.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("rollcheck_retry_deadline", default=None)


@contextlib.contextmanager
def retries_until(deadline: float) -> Iterator[None]:
    """Within the block, a transient failure is not retried when the backoff would end past `deadline`
    (time.monotonic()): a wait with a timeout gives up near its timeout, not a whole retry budget later."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how patiently a transient failure is retried."""

    backoffs: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0)
    """Seconds to wait before each retry; there are len(backoffs) + 1 attempts in all."""
    max_retry_after: float = 10.0
    """A server's Retry-After is honoured up to this many seconds, so a confused proxy cannot stall a run."""

    @property
    def attempts(self) -> int:
        return len(self.backoffs) + 1


def is_transient(error: CallError) -> bool:
    """Might the same request succeed a moment later? Connection failures, timeouts, 429 and 5xx."""
    status = http_status(error)
    return status is None or status == 429 or status >= 500


def call_with_retries(
    operation: str,
    call: Callable[[], T],
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `call`, retrying transient failures; raise the translated rollcheck error when it gives up.

    `operation` names the request in logs and errors (`get deployment prod/shop`). Errors that are not
    client or connection errors (bugs) propagate unchanged.
    """
    attempt = 1
    while True:
        try:
            return call()
        except CALL_ERRORS as error:
            delay = _delay(error, policy, attempt) if attempt < policy.attempts else 0.0
            deadline = _deadline.get()
            out_of_time = deadline is not None and time.monotonic() + delay >= deadline
            if attempt >= policy.attempts or not is_transient(error) or out_of_time:
                # from None: the chained ApiException would print response headers and the whole body in tracebacks.
                raise translate(error, operation) from None
            log.warning(
                "attempt #%d/%d failed; will retry in %.1fs: %s -> %s",
                attempt,
                policy.attempts,
                delay,
                operation,
                describe(error),
            )
            sleep(delay)
            attempt += 1


def _delay(error: CallError, policy: RetryPolicy, attempt: int) -> float:
    headers = error.headers if isinstance(error, ApiException) else None
    retry_after = str(headers.get("Retry-After") or "").strip() if headers is not None else ""
    # Only the delay-seconds form; an HTTP-date Retry-After falls back to the backoff.
    if retry_after.isdigit():
        return min(float(retry_after), policy.max_retry_after)
    return policy.backoffs[attempt - 1]
