"""Error translation at the Kubernetes boundary: status → rollcheck error, Status message kept, headers never."""

from __future__ import annotations

import json

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from rollcheck import ClusterUnavailable
from rollcheck import Conflict
from rollcheck import Forbidden
from rollcheck import KubernetesError
from rollcheck import NotFound
from rollcheck.kube import translate

DENIED = (
    'deployments.apps "shop" is forbidden: User "ci" cannot patch resource "deployments" in API group "apps" '
    'in the namespace "prod"'
)


def api_error(
    status: int, body: object, reason: str | None = None, headers: dict[str, str] | None = None
) -> ApiException:
    error = ApiException(status=status, reason=reason, body=body if isinstance(body, str) else json.dumps(body))
    error.headers = headers
    return error


def status_body(code: int, message: str, reason: str = "") -> dict[str, object]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def test_forbidden_keeps_the_status_message_and_names_the_operation() -> None:
    error = translate(api_error(403, status_body(403, DENIED, "Forbidden"), "Forbidden"), "patch deployment prod/shop")

    assert isinstance(error, Forbidden)
    assert str(error) == f"patch deployment prod/shop: 403 Forbidden: {DENIED}"
    assert (error.status, error.reason, error.operation) == (403, "Forbidden", "patch deployment prod/shop")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (422, Conflict),
        (400, KubernetesError),
        (500, KubernetesError),
    ],
)
def test_each_status_maps_to_its_error(status: int, expected: type[KubernetesError]) -> None:
    error = translate(api_error(status, status_body(status, "nope")), "get deployment prod/shop")

    assert type(error) is expected
    assert isinstance(error, KubernetesError)
    assert error.status == status


def test_a_missing_reason_phrase_is_filled_from_the_status_code() -> None:
    error = translate(api_error(422, status_body(422, "the test op failed")), "patch deployment prod/shop")

    assert str(error) == "patch deployment prod/shop: 422 Unprocessable Entity: the test op failed"


def test_a_non_status_body_is_truncated() -> None:
    error = translate(api_error(502, "<html>" + "x" * 5000 + "</html>", "Bad Gateway"), "get deployment prod/shop")

    assert isinstance(error, KubernetesError)
    assert str(error).startswith("get deployment prod/shop: 502 Bad Gateway: <html>xxx")
    assert len(error.message) <= 256


def test_headers_never_reach_the_message() -> None:
    headers = {"Authorization": "Bearer s3cr3t-token", "Audit-Id": "a-1"}
    error = translate(api_error(500, status_body(500, "etcd timeout"), "Internal Server Error", headers), "get x")

    assert "s3cr3t" not in str(error)
    assert "Audit-Id" not in str(error)


@pytest.mark.parametrize(
    "failure",
    [
        urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection: [Errno 111] refused"),
        urllib3.exceptions.ReadTimeoutError(None, "/apis", "Read timed out. (read timeout=10)"),
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")),
        ConnectionResetError(104, "Connection reset by peer"),
        ApiException(status=0, reason="SSLError\n[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
    ],
)
def test_connection_failures_become_cluster_unavailable(failure: Exception) -> None:
    error = translate(failure, "get deployment prod/shop")  # type: ignore[arg-type]

    assert isinstance(error, ClusterUnavailable)
    assert str(error).startswith("get deployment prod/shop: the Kubernetes API could not be reached: ")
    assert "\n" not in str(error)


def test_422_for_an_invalid_object_is_not_a_conflict() -> None:
    # The two bodies the real API server sends (seen on the local cluster): a failed `test` op, and validation.
    failed_test = ApiException(status=422, reason="Unprocessable Entity")
    failed_test.body = (
        '{"kind":"Status","status":"Failure","message":"the server rejected our request due to an error in our '
        'request","reason":"Invalid","details":{},"code":422}'
    )
    invalid = ApiException(status=422, reason="Unprocessable Entity")
    invalid.body = (
        '{"kind":"Status","status":"Failure","message":"Deployment.apps \\"shop\\" is invalid: spec.replicas: '
        'Invalid value: -3","reason":"Invalid","details":{"causes":[{"reason":"FieldValueInvalid",'
        '"field":"spec.replicas"}]},"code":422}'
    )
    assert type(translate(failed_test, "patch deployment prod/shop")) is Conflict
    error = translate(invalid, "patch deployment prod/shop")
    assert type(error) is KubernetesError
    assert "spec.replicas" in str(error)
