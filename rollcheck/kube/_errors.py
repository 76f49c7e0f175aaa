"""Translate what the Kubernetes client raises into rollcheck's errors, once, at the boundary.

Nothing above `rollcheck.kube` sees an `ApiException` or a urllib3 error. Messages keep the API's Status
`message` (it says what was refused and why) or a truncated body, never the response headers: they can carry
tokens, cookies and audit ids that do not belong in logs and reports.
"""

from __future__ import annotations

import http
import json

import urllib3
from kubernetes.client.exceptions import ApiException

from .._errors import ClusterUnavailable
from .._errors import Conflict
from .._errors import Forbidden
from .._errors import KubernetesError
from .._errors import NotFound
from .._errors import RollbackImpossible
from .._errors import RollcheckError
from .._errors import truncate

__all__ = [
    "CALL_ERRORS",
    "CallError",
    "KubeconfigError",
    "UnsupportedKind",
    "describe",
    "http_status",
    "status_message",
    "translate",
]

_BY_STATUS: dict[int, type[KubernetesError]] = {403: Forbidden, 404: NotFound, 409: Conflict, 422: Conflict}


class KubeconfigError(RollcheckError):
    """The cluster credentials could not be loaded: a missing or invalid kubeconfig, an unknown context, or an
    incomplete in-cluster service account. The message names the file and context, never the credentials."""


class UnsupportedKind(RollbackImpossible):
    """The target's kind has no reader or rollback engine yet (only Deployments are supported)."""


#: What a call through the client can raise for reasons outside our code: an HTTP error status, or a
#: connection that failed (refused, reset, timed out, TLS).
CALL_ERRORS = (ApiException, urllib3.exceptions.HTTPError, ConnectionError, TimeoutError)
CallError = ApiException | urllib3.exceptions.HTTPError | ConnectionError | TimeoutError


def http_status(error: CallError) -> int | None:
    """The HTTP status of a failed call; None when no HTTP answer came back (the client reports TLS failures
    as an ApiException without a status)."""
    return int(error.status) if isinstance(error, ApiException) and error.status else None


def status_message(body: object) -> str:
    """The `message` of a Kubernetes Status body, or the body itself, truncated."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    try:
        document = json.loads(text)
    except ValueError:
        return truncate(text)
    if isinstance(document, dict) and document.get("kind") == "Status" and document.get("message"):
        return truncate(str(document["message"]))
    return truncate(text)


def describe(error: CallError) -> str:
    """A one-line description for logs: `503 Service Unavailable: etcdserver: leader changed`."""
    if isinstance(error, ApiException) and error.status:
        status = int(error.status)
        return f"{status} {error.reason or _phrase(status)}: {status_message(error.body)}"
    return _connection_detail(error)


def translate(error: CallError, operation: str) -> RollcheckError:
    """The rollcheck error for a failed call. `operation` reads like `patch deployment prod/shop`."""
    if isinstance(error, ApiException) and error.status:
        status = int(error.status)
        cls = _BY_STATUS.get(status, KubernetesError)
        if status == 422 and _has_field_causes(error.body):
            cls = KubernetesError  # an invalid object, not a failed resourceVersion test: retrying cannot help
        return cls(status, str(error.reason or _phrase(status)), status_message(error.body), operation=operation)
    return ClusterUnavailable(f"{operation}: the Kubernetes API could not be reached: {_connection_detail(error)}")


def _has_field_causes(body: object) -> bool:
    """A 422 for an invalid object names the offending fields in details.causes; a JSON patch whose `test` op
    failed (someone wrote in between) comes back with empty details."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    try:
        document = json.loads(text)
    except ValueError:
        return False
    details = document.get("details") if isinstance(document, dict) else None
    return isinstance(details, dict) and bool(details.get("causes"))


def _connection_detail(error: CallError) -> str:
    if isinstance(error, ApiException):
        return truncate(str(error.reason or "TLS error"))
    # urllib3 messages name the host and the socket error, never credentials.
    return truncate(f"{type(error).__name__}: {error}")


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"
