"""The retry loop, driven by a fake call that raises what the client raises, and an instant fake sleep."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest
import urllib3
from hypothesis import given
from hypothesis import strategies as st
from kubernetes.client.exceptions import ApiException

from rollcheck import ClusterUnavailable
from rollcheck import Conflict
from rollcheck import Forbidden
from rollcheck import KubernetesError
from rollcheck import NotFound
from rollcheck.kube import RetryPolicy
from rollcheck.kube import call_with_retries
from rollcheck.kube._retry import retries_until

POLICY = RetryPolicy()


class FlakyCall:
    """Fails with the given errors in turn, then returns "ok"; counts its attempts."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.attempts = 0

    def __call__(self) -> str:
        self.attempts += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def status(code: int, retry_after: str | None = None) -> ApiException:
    error = ApiException(status=code, reason="Reason", body='{"kind":"Status","message":"said no"}')
    error.headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return error


def run(call: Callable[[], str], policy: RetryPolicy = POLICY) -> tuple[str, list[float]]:
    slept: list[float] = []
    return call_with_retries("get deployment prod/shop", call, policy=policy, sleep=slept.append), slept


def test_transient_failures_are_retried_with_the_backoffs() -> None:
    call = FlakyCall(status(503), status(500), status(504))

    result, slept = run(call)

    assert result == "ok"
    assert call.attempts == 4
    assert slept == [0.2, 0.5, 1.0]


def test_retry_after_seconds_are_honoured_and_capped() -> None:
    call = FlakyCall(status(429, "3"), status(429, "120"), status(503, "Wed, 21 Oct 2026 07:28:00 GMT"))

    _, slept = run(call)

    assert slept == [3.0, 10.0, 1.0]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (400, KubernetesError),
        (401, KubernetesError),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (410, KubernetesError),
        (422, Conflict),
    ],
)
def test_client_errors_other_than_429_are_not_retried(code: int, expected: type[KubernetesError]) -> None:
    call = FlakyCall(status(code))

    with pytest.raises(expected) as raised:
        run(call)

    assert call.attempts == 1
    assert raised.value.status == code


def test_it_gives_up_after_the_last_attempt_with_the_last_error() -> None:
    call = FlakyCall(*(status(503) for _ in range(5)), status(500))
    slept: list[float] = []

    with pytest.raises(KubernetesError) as raised:
        call_with_retries("get deployment prod/shop", call, policy=POLICY, sleep=slept.append)

    assert call.attempts == 5
    assert slept == [0.2, 0.5, 1.0, 2.0]
    assert raised.value.status == 503
    # Not chained: a chained ApiException would print the response headers and whole body in tracebacks.
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_connection_errors_are_retried_then_reported_as_cluster_unavailable() -> None:
    refused = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection: refused")
    call = FlakyCall(*(refused for _ in range(3)))

    with pytest.raises(ClusterUnavailable, match="could not be reached: NewConnectionError"):
        run(call, RetryPolicy(backoffs=(0.0, 0.0)))

    assert call.attempts == 3


def test_no_retry_outlives_the_deadline_of_the_wait_it_serves() -> None:
    # A wait with a timeout sets the deadline: a backoff that would end after it is not slept, the error is.
    with retries_until(time.monotonic() + 0.1):
        call = FlakyCall(status(503), status(503))
        with pytest.raises(KubernetesError, match="503"):
            run(call, RetryPolicy(backoffs=(0.5, 0.5)))
    assert call.attempts == 1
    with retries_until(time.monotonic() + 5):
        call = FlakyCall(status(503), status(503))
        assert run(call, RetryPolicy(backoffs=(0.5, 0.5)))[0] == "ok"
    assert call.attempts == 3, "backoffs that fit before the deadline are taken"
    call = FlakyCall(status(503))
    assert run(call, RetryPolicy(backoffs=(0.5,)))[0] == "ok", "outside the block there is no deadline"


def test_each_retry_is_logged_with_attempt_numbers(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="rollcheck.kube")

    run(FlakyCall(status(503), status(503)))

    assert [r.getMessage() for r in caplog.records] == [
        "attempt #1/5 failed; will retry in 0.2s: get deployment prod/shop -> 503 Reason: said no",
        "attempt #2/5 failed; will retry in 0.5s: get deployment prod/shop -> 503 Reason: said no",
    ]


def test_bugs_are_not_retried_or_translated() -> None:
    call = FlakyCall(KeyError("spec"))

    with pytest.raises(KeyError):
        run(call)

    assert call.attempts == 1


@given(code=st.integers(min_value=400, max_value=599), backoffs=st.lists(st.just(0.0), max_size=4))
def test_attempts_depend_only_on_whether_the_status_is_transient(code: int, backoffs: list[float]) -> None:
    policy = RetryPolicy(backoffs=tuple(backoffs))
    call = FlakyCall(*(status(code) for _ in range(policy.attempts)))

    with pytest.raises(KubernetesError):
        run(call, policy)

    transient = code == 429 or code >= 500
    assert call.attempts == (policy.attempts if transient else 1)
