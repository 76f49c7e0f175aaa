"""`rollcheck serve`'s HTTP endpoint (in process, on 127.0.0.1) fed hypothesis-made requests: every answer is
2xx or 4xx, never 5xx or a dropped connection, and the receiver keeps serving afterwards."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_settings import bounded

from rollcheck.serve import Listen
from rollcheck.serve import ReceiverServer
from rollcheck.serve import ServeConfig
from rollcheck.serve import build_server
from rollcheck.settings import Settings

TOKEN = "fuzz-token"
# Alerts about this namespace are refused (403) before anything would act: nothing here reaches a cluster.
ALLOWED = "nothing-runs-here"

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
ALERT = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["firing", "resolved", "pending"]),
        "labels": st.dictionaries(
            st.sampled_from(["namespace", "deployment", "rollcheck_target"]), st.text(max_size=12)
        ),
        "startsAt": st.text(max_size=30),
    }
)
PAYLOAD = st.fixed_dictionaries({"version": st.sampled_from(["4", 4, "3"]), "alerts": st.lists(ALERT, max_size=3)})
BODIES = st.one_of(
    st.binary(max_size=200),
    JSON.map(lambda value: json.dumps(value).encode()),
    PAYLOAD.map(lambda value: json.dumps(value).encode()),
)
PATHS = st.sampled_from(["/alertmanager", "/flagger/check", "/healthz", "/metrics", "/", "/alertmanager?x=1"])
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "Authorization": st.sampled_from([f"Bearer {TOKEN}", f"bearer {TOKEN}", "Bearer wrong", "Basic eA=="]),
        "Content-Type": st.sampled_from(["application/json", "text/plain", "multipart/form-data; boundary=x"]),
    },
)


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReceiverServer]:
    report_dir = tmp_path_factory.mktemp("fuzz") / "reports"
    config = ServeConfig(
        settings=Settings(kubeconfig=Path("/nonexistent/kubeconfig"), report_dir=report_dir),
        listen=Listen("127.0.0.1", 0),
        token=TOKEN,
        allow_namespaces=frozenset({ALLOWED}),
        max_body_bytes=8192,  # room for a 5000-digit integer, the longest case below
    )
    server = build_server(config, io.StringIO())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(10)


@pytest.fixture(scope="module")
def caller(receiver: ReceiverServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://127.0.0.1:{receiver.server_address[1]}", timeout=10) as client:
        yield client


def _answers(caller: httpx.Client, method: str, path: str, body: bytes, headers: dict[str, str]) -> int:
    return caller.request(method, path, content=body, headers=headers).status_code


@bounded
@given(st.sampled_from(["POST", "GET"]), PATHS, BODIES, HEADERS)
@example("POST", "/alertmanager", b'{"version": "4", "alerts": [{"status": "firing", "labels": {}}]}', {})
def test_any_request_gets_a_2xx_or_4xx_answer(
    caller: httpx.Client, method: str, path: str, body: bytes, headers: dict[str, str]
) -> None:
    # A connection per request: what one request leaves unread must not decide the next one's answer (that
    # is its own test below).
    status = _answers(caller, method, path, body, {**headers, "Connection": "close"})
    assert 200 <= status < 500, f"{method} {path} with {body[:80]!r} got {status}"


@bounded
@given(PAYLOAD)
def test_any_authorised_alert_payload_is_answered_and_nothing_outside_the_namespace_is_acted_on(
    caller: httpx.Client, payload: dict[str, object]
) -> None:
    body = json.dumps(payload).encode()
    status = _answers(caller, "POST", "/alertmanager", body, {"Authorization": f"Bearer {TOKEN}"})
    assert status in {200, 202, 400, 403, 422}, f"{payload} got {status}"


@pytest.mark.parametrize(
    "body",
    [b"[" * 3000, b"1" * 5000],
    ids=["nested deeper than Python's recursion limit", "an integer longer than Python reads"],
)
def test_a_body_json_cannot_be_read_into_python_is_a_400(caller: httpx.Client, body: bytes) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Connection": "close"}
    assert _answers(caller, "POST", "/alertmanager", body, headers) == 400


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_another_method_is_refused_with_405(caller: httpx.Client, method: str) -> None:
    assert _answers(caller, method, "/alertmanager", b"{}", {"Connection": "close"}) == 405


def test_a_body_sent_with_a_get_is_not_read_as_the_next_request(caller: httpx.Client) -> None:
    # One kept-alive connection: the GET's unread body must not be taken for the start of the next request.
    assert _answers(caller, "GET", "/healthz", b"POST /x HTTP/1.1", {}) == 200
    assert _answers(caller, "GET", "/healthz", b"", {}) == 200


def test_the_receiver_still_serves_after_the_fuzzing(receiver: ReceiverServer, caller: httpx.Client) -> None:
    # Runs last in this module (file order): whatever came before, the receiver answers, and acted on nothing.
    assert _answers(caller, "GET", "/healthz", b"", {}) == 200
    assert not list(Path(receiver.config.settings.report_dir).glob("*/report.json"))
