"""The Prometheus client against a loopback server speaking Prometheus' HTTP API.

Why not the real Prometheus here: these are the answers it cannot be made to give on demand (malformed JSON,
an HTTP 200 with `status: error`, a matrix where a vector was asked for, NaN and several series from a
controlled query, 5xx and 429 bursts, a stall past the timeout). The client is real: PrometheusConnect over
requests, through a real socket. The real Prometheus is queried in test_prometheus_live.py.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from loopback import Handle
from loopback import Served
from loopback import answer

from localenv_support import free_port
from rollcheck import MetricsUnavailable
from rollcheck.measure import Prom
from rollcheck.measure import Prometheus
from rollcheck.measure import read_scalar
from rollcheck.measure import scalar

Serve = Callable[[Handle], Served]
QUERY = 'sum(rate(http_requests_total{namespace="prod"}[1m]))'
TS = 1767268800.5


def success(result_type: str, result: Any) -> bytes:
    return json.dumps({"status": "success", "data": {"resultType": result_type, "result": result}}).encode()


def series(value: str, **labels: str) -> dict[str, Any]:
    return {"metric": labels, "value": [TS, value]}


def respond(status: int, body: bytes) -> Handle:
    return lambda handler: answer(handler, status, body)


def sequence(*handles: Handle) -> Handle:
    """Answer the n-th request with the n-th handle (the last one repeats)."""
    calls = iter(range(1_000))
    return lambda handler: handles[min(next(calls), len(handles) - 1)](handler)


def params(served: Served, index: int = 0) -> dict[str, list[str]]:
    return parse_qs(urlsplit(served.paths[index]).query)


def _prometheus(served: Served, **kwargs: Any) -> Prometheus:
    kwargs.setdefault("timeout", 2.0)
    kwargs.setdefault("backoff", 0.01)
    return Prometheus(served.url, **kwargs)


def test_vector_samples(serve: Serve) -> None:
    served = serve(respond(200, success("vector", [series("0.25", pod="shop-1"), series("+Inf", pod="shop-2")])))
    with_client = _prometheus(served)
    samples = with_client.query(QUERY)
    with_client.close()
    assert [(dict(s.labels), s.value) for s in samples] == [({"pod": "shop-1"}, 0.25), ({"pod": "shop-2"}, math.inf)]
    assert samples[0].at.timestamp() == TS
    assert params(served)["query"] == [QUERY]
    assert params(served)["timeout"] == ["2s"]
    assert "time" not in params(served), "without `at`, Prometheus evaluates at its own now"


def test_scalar_result_and_pinned_evaluation_time(serve: Serve) -> None:
    served = serve(respond(200, success("scalar", [TS, "42"])))
    client = _prometheus(served)
    at = client.query("42")[0].at
    samples = client.query("42", at=at)
    client.close()
    assert [(dict(s.labels), s.value) for s in samples] == [({}, 42.0)]
    assert params(served, 1)["time"] == [f"{TS:.3f}"]


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, b'{"status": "success", "data": ', "HTTP 200, not JSON"),
        (200, b'["a list"]', "not a Prometheus API answer"),
        (
            400,
            b'{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \\"}\\""}',
            "HTTP 400, status 'error': bad_data: 1:5: parse error",
        ),
        (200, b'{"status":"error","errorType":"execution","error":"query timed out"}', "execution: query timed out"),
        (200, success("matrix", [{"metric": {}, "values": [[TS, "1"]]}]), "unexpected resultType 'matrix'"),
        (200, success("string", [TS, "hello"]), "unexpected resultType 'string'"),
        (200, success("vector", [{"metric": {}, "value": [TS, "not a number"]}]), "malformed result"),
        (200, success("vector", [{"metric": {}, "histogram": [TS, {}]}]), "malformed result"),
    ],
    ids=["malformed-json", "not-an-object", "status-error", "error-with-200", "matrix", "string", "nan-text", "hist"],
)
def test_garbage_answers_are_metrics_unavailable(serve: Serve, status: int, body: bytes, expected: str) -> None:
    served = serve(respond(status, body))
    client = _prometheus(served)
    with pytest.raises(MetricsUnavailable) as caught:
        client.query(QUERY)
    client.close()
    message = str(caught.value)
    assert expected in message
    assert message.startswith(f"Prometheus at {served.url}, query {QUERY!r}: ")
    assert len(served.paths) == 1, "a bad answer is not retried"


def test_nan_empty_and_several_series(serve: Serve) -> None:
    answers = [
        success("vector", [series("NaN")]),
        success("vector", []),
        success("vector", [series("1", pod=f"shop-{n}", code="500") for n in range(5)]),
        success("vector", [series("+Inf")]),
    ]
    served = serve(sequence(*(respond(200, body) for body in answers)))
    client = _prometheus(served)
    nan = read_scalar(client, QUERY)
    empty = read_scalar(client, QUERY)
    with pytest.raises(MetricsUnavailable) as several:
        scalar(client, QUERY)
    infinite = scalar(client, QUERY)
    client.close()
    assert nan.value is None
    assert "NaN" in (nan.reason or "")
    assert nan.at.timestamp() == TS
    assert nan.found
    assert empty.value is None
    assert not empty.found
    assert "no series" in (empty.reason or "")
    assert infinite == math.inf
    message = str(several.value)
    assert "returned 5 series where one was expected" in message
    assert "{code='500', pod='shop-0'}; {code='500', pod='shop-1'}; {code='500', pod='shop-2'} and 2 more" in message


def test_transient_5xx_is_retried(serve: Serve) -> None:
    served = serve(sequence(respond(503, b"overloaded"), respond(200, success("vector", [series("7")]))))
    client = _prometheus(served, retries=2)
    assert scalar(client, QUERY) == 7.0
    client.close()
    assert len(served.paths) == 2


def test_persistent_5xx_gives_up_after_the_retries_with_the_body_truncated(serve: Serve) -> None:
    served = serve(respond(502, b"<html>" + b"bad gateway " * 1000 + b"</html>"))
    client = _prometheus(served, retries=2)
    with pytest.raises(MetricsUnavailable, match="HTTP 502, not JSON: '<html>bad gateway") as caught:
        client.query(QUERY)
    client.close()
    assert len(served.paths) == 3
    assert len(str(caught.value)) < 500


def test_429_retry_after_is_not_obeyed_so_time_stays_bounded(serve: Serve) -> None:
    def too_many(handler: BaseHTTPRequestHandler) -> None:
        body = b'{"status":"error","errorType":"unavailable","error":"slow down"}'
        handler.send_response(429)
        handler.send_header("Retry-After", "3600")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    served = serve(too_many)
    client = _prometheus(served, retries=1)
    started = time.monotonic()
    with pytest.raises(MetricsUnavailable, match="HTTP 429, status 'error': unavailable: slow down"):
        client.query(QUERY)
    client.close()
    assert time.monotonic() - started < 5
    assert len(served.paths) == 2


def test_a_query_that_is_not_understood_is_not_retried(serve: Serve) -> None:
    served = serve(respond(400, b'{"status":"error","errorType":"bad_data","error":"bad"}'))
    client = _prometheus(served, retries=2)
    with pytest.raises(MetricsUnavailable, match="HTTP 400"):
        client.query(QUERY)
    client.close()
    assert len(served.paths) == 1


def test_a_stall_past_the_timeout_is_bounded(serve: Serve) -> None:
    served: Served
    served = serve(lambda handler: served.release.wait(10))
    client = _prometheus(served, timeout=0.3, retries=1)
    started = time.monotonic()
    with pytest.raises(MetricsUnavailable, match=r"timed out after 0\.3s") as caught:
        client.query(QUERY)
    elapsed = time.monotonic() - started
    client.close()
    assert elapsed <= client.max_duration
    assert len(served.paths) == 2, "a timeout is transient: retried once"
    assert str(caught.value).startswith(f"Prometheus at {served.url}, query {QUERY!r}: ")


def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = Prometheus(url, timeout=1, retries=1, backoff=0.01)
    with pytest.raises(MetricsUnavailable, match="connection failed") as caught:
        client.query(QUERY)
    client.close()
    assert str(caught.value).startswith(f"Prometheus at {url}, query {QUERY!r}: connection failed (2 attempts")


def test_credentials_are_sent_but_never_shown(serve: Serve) -> None:
    served = serve(respond(500, b'{"status":"error","errorType":"internal","error":"no"}'))
    token = "s3cr3t-token-value"
    client = _prometheus(served, headers={"Authorization": f"Bearer {token}"}, retries=0)
    with pytest.raises(MetricsUnavailable) as caught:
        client.query(QUERY)
    client.close()
    assert served.headers[0]["Authorization"] == f"Bearer {token}"
    assert token not in str(caught.value)
    assert token not in repr(client)
    assert token not in repr(Prom(client, selector="a"))


def test_user_info_in_the_url_is_used_but_not_shown(serve: Serve) -> None:
    served = serve(respond(200, success("vector", [])))
    url = served.url.replace("http://", "http://alice:pa55word@") + "/?x=1"
    client = Prometheus(url + "", timeout=2)
    assert client.query(QUERY) == []
    client.close()
    assert served.headers[0]["Authorization"].startswith("Basic ")
    assert "pa55word" not in repr(client)
    assert repr(client) == f"Prometheus('{served.url}')"


def test_prom_convenience(serve: Serve) -> None:
    served = serve(respond(200, success("vector", [series("3", pod="shop-1")])))
    client = _prometheus(served)
    prom = Prom(client, selector='namespace="prod"', max_query_seconds=client.max_duration)
    assert prom.value("q") == 3.0
    assert prom.read("q").value == 3.0
    assert [dict(s.labels) for s in prom.vector("q")] == [{"pod": "shop-1"}]
    client.close()
    assert prom.escape('a"b') == 'a\\"b'
    assert prom.render("up{{{selector}}}[{window}]", window_seconds=30) == 'up{namespace="prod"}[30s]'
    assert prom.render("up{{{selector}}}", window_seconds=30, selector='job="x"') == 'up{job="x"}'
    assert prom.max_query_seconds == client.max_duration == 3 * 2 * 2.0 + 0.02
