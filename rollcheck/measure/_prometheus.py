"""Prometheus behind a small rollcheck-owned seam: `MetricsSource.query(promql) -> list[Sample]`.

The implementation uses prometheus-api-client's `PrometheusConnect.custom_query`, with the library's pitfalls
handled here: its errors are strings with the raw body, it returns only `data.result` (hiding `status` and
`resultType`), and its default urllib3 Retry sleeps for as long as a Retry-After header asks. So the answer's
envelope is checked in a response hook, retries are bounded, and every failure becomes a MetricsUnavailable
naming the URL (without credentials) and the query, with the body truncated.
"""

from __future__ import annotations

import contextlib
import datetime
import warnings
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any
from typing import Protocol

from .._errors import MetricsUnavailable
from .._errors import truncate
from ._http import redact_url

if TYPE_CHECKING:
    import requests

__all__ = ["MetricsSource", "Prometheus", "Sample"]

#: Transient answers worth another attempt; anything else (400 bad query, 401, 403, 404) will not change.
RETRY_STATUSES = (429, 500, 502, 503, 504)
_EXPECTED_RESULT_TYPES = ("vector", "scalar")


@dataclass(frozen=True)
class Sample:
    """One value of an instant query."""

    labels: Mapping[str, str]
    """The series' labels; empty for a scalar or an aggregate without `by`."""
    value: float
    """The value; NaN and ±Inf are kept as floats."""
    at: datetime.datetime
    """The evaluation time Prometheus reported (UTC)."""


class MetricsSource(Protocol):
    """Where metric values come from: Prometheus in a run, anything speaking instant queries in a test."""

    def query(self, promql: str, *, at: datetime.datetime | None = None) -> list[Sample]:
        """Evaluate an instant query at `at` (default: now, on the server). Raises MetricsUnavailable."""
        ...


class _BadAnswer(Exception):
    """Raised from the response hook, inside requests, for an answer that is not a usable query result."""


def _check_answer(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    # Redirects are followed by requests (and bounded by the session); only the final answer is judged.
    if response.is_redirect:
        return
    try:
        body = response.json()
    except ValueError:
        raise _BadAnswer(f"HTTP {response.status_code}, not JSON: {truncate(response.text)!r}") from None
    if not isinstance(body, dict):
        raise _BadAnswer(f"HTTP {response.status_code}, not a Prometheus API answer: {truncate(response.text)!r}")
    if body.get("status") != "success" or response.status_code != 200:
        error = f"{body.get('errorType', 'error')}: {body.get('error', '')}" if "error" in body else response.text
        raise _BadAnswer(f"HTTP {response.status_code}, status {body.get('status')!r}: {truncate(str(error))}")
    data = body.get("data")
    result_type = data.get("resultType") if isinstance(data, dict) else None
    if result_type not in _EXPECTED_RESULT_TYPES:
        raise _BadAnswer(f"unexpected resultType {result_type!r} (expected an instant vector or a scalar)")


def _request_failure(error: requests.RequestException, timeout: float, retries: int) -> str:
    import requests
    from urllib3.exceptions import MaxRetryError
    from urllib3.exceptions import NewConnectionError
    from urllib3.exceptions import TimeoutError as Urllib3Timeout

    # Once urllib3's retries are used up, the last error arrives wrapped: ConnectionError(MaxRetryError(reason)).
    cause = error.args[0].reason if error.args and isinstance(error.args[0], MaxRetryError) else None
    # NewConnectionError subclasses urllib3's ConnectTimeoutError, for history's sake: test it first.
    if isinstance(cause, NewConnectionError):
        what = "connection failed"
    elif isinstance(error, requests.Timeout) or isinstance(cause, Urllib3Timeout):
        what = f"timed out after {timeout:g}s"
    elif isinstance(error, requests.exceptions.SSLError):
        what = "TLS error"
    elif isinstance(error, requests.ConnectionError):
        what = "connection failed"
    else:
        what = "request failed"
    return f"{what} ({retries + 1} attempts at most): {truncate(str(cause or error))}"


@contextlib.contextmanager
def _quiet_if_unverified(verify: bool | str) -> Iterator[None]:
    # The run warns once that TLS verification is off (settings.insecure_warning); urllib3 would repeat it on
    # every query, and in a suite with filterwarnings=error turn every query into an error.
    if verify is not False:
        yield
        return
    from urllib3.exceptions import InsecureRequestWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureRequestWarning)
        yield


def _to_float(raw: object) -> float:
    if not isinstance(raw, str | int | float):
        raise ValueError(f"{raw!r} is not a number")
    return float(raw)


def _sample(labels: object, pair: object) -> Sample:
    if not isinstance(labels, dict) or not isinstance(pair, list) or len(pair) != 2:
        raise ValueError(f"malformed sample {truncate(repr(pair))}")
    return Sample(
        labels={str(k): str(v) for k, v in labels.items()},
        value=_to_float(pair[1]),
        at=datetime.datetime.fromtimestamp(_to_float(pair[0]), datetime.UTC),
    )


def _samples(result: object) -> list[Sample]:
    # custom_query hands back only data.result; the hook has made sure resultType is vector or scalar.
    if isinstance(result, list) and all(isinstance(entry, dict) for entry in result):
        return [_sample(entry.get("metric", {}), entry.get("value")) for entry in result]
    return [_sample({}, result)]


class Prometheus:
    """A MetricsSource on Prometheus' HTTP API.

    **Parameters:**
    - `url`: base URL, for example `https://prometheus.monitoring:9090` (a path prefix is kept).
    - `headers`: extra request headers, such as `Authorization: Bearer …`. Never shown anywhere.
    - `auth`: basic auth `(user, password)`. Never shown anywhere.
    - `verify`: verify TLS (True), not (False), or the path of a CA bundle.
    - `timeout`: seconds for connecting and for reading an answer; also sent as the query's server-side timeout.
    - `retries`: further attempts after a connection error, a timeout, 429 or 5xx (Retry-After is ignored,
      so the total time stays bounded by `max_duration`).
    - `backoff`: seconds of the exponential backoff between retries (0, 2 * backoff, 4 * backoff, ...).
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        verify: bool | str = True,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.5,
    ) -> None:
        # Imported here so a run that never touches Prometheus does not pay for requests and the client.
        import requests
        from prometheus_api_client import PrometheusConnect
        from urllib3.util.retry import Retry

        self._url = url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self._verify = verify
        # urllib3 2.x sleeps nothing before the first retry, then backoff * 2**(n-1) before retry n.
        self._backoffs = [0.0 if n <= 1 else backoff * 2 ** (n - 1) for n in range(1, retries + 1)]
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            backoff_factor=backoff,
            backoff_max=max(self._backoffs, default=0.0),
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "POST"}),
            respect_retry_after_header=False,
            # After the last retry the 5xx answer itself is returned, so its body can explain the failure.
            raise_on_status=False,
        )
        session = requests.Session()
        session.verify = verify
        session.max_redirects = 5
        session.hooks["response"].append(_check_answer)
        self._client = PrometheusConnect(
            url=self._url, headers=dict(headers or {}), auth=auth, retry=retry, session=session, timeout=timeout
        )
        self._session = session

    @property
    def max_duration(self) -> float:
        """Upper bound in seconds of one `query` call: every attempt connecting and reading, plus the backoffs."""
        return (self.retries + 1) * 2 * self.timeout + sum(self._backoffs)

    def __repr__(self) -> str:
        return f"Prometheus({redact_url(self._url)!r})"

    def close(self) -> None:
        self._session.close()

    def query(self, promql: str, *, at: datetime.datetime | None = None) -> list[Sample]:
        import requests

        # "Now" is the server's, at call time, unless the caller pins the evaluation time.
        params: dict[str, str] = {"timeout": f"{self.timeout:g}s"}
        if at is not None:
            params["time"] = f"{at.timestamp():.3f}"
        where = f"Prometheus at {redact_url(self._url)}, query {promql!r}"
        try:
            with _quiet_if_unverified(self._verify):
                result = self._client.custom_query(promql, params=params, timeout=(self.timeout, self.timeout))
        except _BadAnswer as error:
            raise MetricsUnavailable(f"{where}: {error}") from None
        except requests.RequestException as error:
            raise MetricsUnavailable(f"{where}: {_request_failure(error, self.timeout, self.retries)}") from None
        try:
            return _samples(result)
        except (ValueError, TypeError, OverflowError) as error:
            raise MetricsUnavailable(f"{where}: malformed result: {truncate(str(error))}") from None
