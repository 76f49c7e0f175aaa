"""The demo service, run as a real subprocess on a free loopback port, as the node agent runs it."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import httpx
import pytest
from component_helpers import RunningDemo
from component_helpers import python_env
from component_helpers import run_module
from component_helpers import stop_process
from prometheus_client.parser import text_string_to_metric_families

from localenv_support import eventually
from localenv_support import free_port
from rollcheck_localenv.demo_service import DemoApp
from rollcheck_localenv.demo_service import KnobError
from rollcheck_localenv.demo_service import Knobs
from rollcheck_localenv.demo_service import knobs_from_env

StartDemo = Callable[..., RunningDemo]


def samples(demo: RunningDemo, metric: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of `metric` on the demo's /metrics, keyed by their sorted labels."""
    text = httpx.get(f"{demo.url}/metrics", timeout=5).text
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == metric:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_health_and_version_report_the_version(demo_service: StartDemo) -> None:
    demo = demo_service("v7")

    health = httpx.get(f"{demo.url}/health", timeout=5)
    version = httpx.get(f"{demo.url}/version", timeout=5)

    assert (health.status_code, health.json()) == (200, {"status": "ok", "version": "v7"})
    assert version.json() == {"version": "v7"}


def test_port_and_version_fall_back_to_the_environment() -> None:
    port = free_port()
    process = run_module("rollcheck_localenv.demo_service", env=python_env(PORT=str(port), DEMO_VERSION="v-env"))
    demo = RunningDemo(process, port)
    try:
        demo.wait_answering()
        assert httpx.get(f"{demo.url}/version", timeout=5).json() == {"version": "v-env"}
    finally:
        stop_process(process)


def test_health_fail_answers_503(demo_service: StartDemo) -> None:
    demo = demo_service("v2", DEMO_HEALTH_FAIL="1")

    health = httpx.get(f"{demo.url}/health", timeout=5)

    assert health.status_code == 503
    assert health.json()["status"] == "failing"
    assert health.json()["version"] == "v2"


def test_api_routes_answer_json(demo_service: StartDemo) -> None:
    demo = demo_service()

    items = httpx.get(f"{demo.url}/api/items", timeout=5)
    order = httpx.post(f"{demo.url}/api/orders", json={"item": 2, "quantity": 3}, timeout=5)
    bad_order = httpx.post(f"{demo.url}/api/orders", content=b"not json", timeout=5)
    unknown = httpx.get(f"{demo.url}/nope", timeout=5)

    assert items.status_code == 200
    assert len(items.json()["items"]) > 0
    assert order.status_code == 201
    assert order.json()["order"] == {"item": 2, "quantity": 3}
    assert bad_order.status_code == 400
    assert unknown.status_code == 404


def test_error_rate_gives_that_share_of_500s(demo_service: StartDemo) -> None:
    demo = demo_service(DEMO_ERROR_RATE="0.3")

    with httpx.Client(timeout=5) as http:
        codes = [http.get(f"{demo.url}/api/items").status_code for _ in range(500)]

    # 3 standard deviations of a binomial(500, 0.3) share is 0.061.
    assert set(codes) == {200, 500}
    assert codes.count(500) / len(codes) == pytest.approx(0.3, abs=0.07)
    counted = samples(demo, "http_requests_total")
    assert counted[(("code", "500"), ("method", "GET"), ("path", "/api/items"))] == codes.count(500)


def test_health_is_not_subject_to_the_error_rate(demo_service: StartDemo) -> None:
    demo = demo_service(DEMO_ERROR_RATE="1")

    assert httpx.get(f"{demo.url}/health", timeout=5).status_code == 200
    assert httpx.get(f"{demo.url}/api/items", timeout=5).status_code == 500


def test_latency_shows_in_response_time_and_histogram(demo_service: StartDemo) -> None:
    demo = demo_service(DEMO_LATENCY_MS="100")

    with httpx.Client(timeout=5) as http:
        for _ in range(5):
            started = time.perf_counter()
            http.get(f"{demo.url}/api/items")
            assert time.perf_counter() - started >= 0.1

    buckets = samples(demo, "http_request_duration_seconds_bucket")
    route = (("method", "GET"), ("path", "/api/items"))
    assert buckets[(("le", "0.075"), *route)] == 0
    assert buckets[(("le", "5.0"), *route)] == 5
    assert samples(demo, "http_request_duration_seconds_sum")[route] >= 0.5


def test_fault_after_delays_errors(demo_service: StartDemo) -> None:
    fault_after = 4.0
    started = time.monotonic()  # before the process exists, so before its own clock starts
    demo = demo_service(DEMO_ERROR_RATE="1", DEMO_FAULT_AFTER_S=str(fault_after))

    first = httpx.get(f"{demo.url}/api/items", timeout=5)
    eventually(
        lambda: httpx.get(f"{demo.url}/api/items", timeout=5).status_code == 500,
        timeout=fault_after + 10,
        what="the delayed fault to start",
    )

    assert first.status_code == 200
    assert time.monotonic() - started >= fault_after


def test_metrics_count_api_and_health_by_route_template(demo_service: StartDemo) -> None:
    demo = demo_service()
    with httpx.Client(timeout=5) as http:
        http.get(f"{demo.url}/api/items?page=2")
        http.post(f"{demo.url}/api/orders", json={})
        http.get(f"{demo.url}/health")
        http.get(f"{demo.url}/metrics")
        http.get(f"{demo.url}/no/such/path")

    counted = samples(demo, "http_requests_total")

    assert counted == {
        (("code", "200"), ("method", "GET"), ("path", "/api/items")): 1,
        (("code", "201"), ("method", "POST"), ("path", "/api/orders")): 1,
        (("code", "200"), ("method", "GET"), ("path", "/health")): 1,
    }


def test_crash_knob_exits_1_and_says_why() -> None:
    process = run_module("rollcheck_localenv.demo_service", "--port", str(free_port()), env=python_env(DEMO_CRASH="1"))
    try:
        _, stderr = process.communicate(timeout=30)
    finally:
        stop_process(process)

    assert process.returncode == 1
    assert "DEMO_CRASH" in stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEMO_ERROR_RATE", "1.5"),
        ("DEMO_ERROR_RATE", "lots"),
        ("DEMO_LATENCY_MS", "-5"),
        ("DEMO_HEALTH_FAIL", "maybe"),
        ("DEMO_FAULT_AFTER_S", "nan"),
        ("PORT", "http"),
    ],
)
def test_bad_knob_exits_2_naming_the_variable(variable: str, value: str) -> None:
    env = python_env(**{variable: value})
    args = [] if variable == "PORT" else ["--port", str(free_port())]
    process = run_module("rollcheck_localenv.demo_service", *args, env=env)
    try:
        _, stderr = process.communicate(timeout=30)
    finally:
        stop_process(process)

    assert process.returncode == 2
    assert variable in stderr
    assert repr(value) in stderr


def test_sigterm_stops_serving_and_exits_0(demo_service: StartDemo) -> None:
    demo = demo_service()

    demo.process.send_signal(signal.SIGTERM)

    assert demo.process.wait(timeout=10) == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{demo.url}/health", timeout=2)


def test_knobs_parse_from_the_environment() -> None:
    env = {"DEMO_ERROR_RATE": "0.25", "DEMO_LATENCY_MS": "150", "DEMO_HEALTH_FAIL": "true", "DEMO_FAULT_AFTER_S": "3"}

    assert knobs_from_env(env) == Knobs(error_rate=0.25, latency_s=0.15, health_fail=True, fault_after_s=3.0)
    assert knobs_from_env({}) == Knobs()
    with pytest.raises(KnobError, match="DEMO_CRASH"):
        knobs_from_env({"DEMO_CRASH": "2"})


def test_health_flap_alternates_with_the_wall_clock_not_the_start() -> None:
    now = [1020.0]
    knobs = knobs_from_env({"DEMO_HEALTH_FLAP_S": "15"})
    app = DemoApp("v2", knobs, wall_clock=lambda: now[0])
    statuses = []
    for moment in (1025.0, 1034.9, 1035.0, 1049.9, 1050.0):
        now[0] = moment
        statuses.append(app.handle("GET", "/health", b"").status)

    # 1020 s is an even number (68) of 15 s half-periods: healthy until 1035, failing until 1050, healthy again.
    assert statuses == [200, 200, 503, 503, 200]
    assert app.handle("GET", "/api/items", b"").status == 200, "the API is not part of the flapping"
