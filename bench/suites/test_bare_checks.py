"""What a team would write without rollcheck: the same checks as rollcheck's built-in ones (rollout complete,
no restarting pods, health, error rate, p99 latency), with the same libraries, as plain pytest tests.

The benchmark runs this file with bare pytest and compares it with `rollcheck run` on the same release.
"""

from __future__ import annotations

import os
import time

import httpx
from kubernetes import client
from kubernetes import config
from prometheus_api_client import PrometheusConnect

NAMESPACE = os.environ["BENCH_NAMESPACE"]
NAME = os.environ["BENCH_NAME"]
BASE_URL = os.environ["BENCH_BASE_URL"]
PROMETHEUS_URL = os.environ["BENCH_PROMETHEUS_URL"]
WINDOW = os.environ.get("BENCH_WINDOW", "10s")
SELECTOR = f'namespace="{NAMESPACE}",pod=~"{NAME}-.*"'


def _apps() -> client.AppsV1Api:
    config.load_kube_config()
    return client.AppsV1Api()


def test_rollout_complete() -> None:
    deployment = _apps().read_namespaced_deployment(NAME, NAMESPACE)
    status = deployment.status
    assert (status.observed_generation or 0) >= deployment.metadata.generation
    assert (status.updated_replicas or 0) >= deployment.spec.replicas
    assert (status.available_replicas or 0) >= (status.updated_replicas or 0)


def test_pods_not_restarting() -> None:
    config.load_kube_config()
    pods = client.CoreV1Api().list_namespaced_pod(NAMESPACE, label_selector=f"app={NAME}").items
    restarts = [s.restart_count for pod in pods for s in (pod.status.container_statuses or [])]
    assert not any(restarts), restarts


def test_health() -> None:
    with httpx.Client(base_url=BASE_URL, timeout=5) as http:
        for _ in range(5):  # rollcheck's defaults: up to 5 probes, 1 s apart, until one answers 2xx
            if http.get("/health").is_success:
                return
            time.sleep(1)
    raise AssertionError("health endpoint never answered 2xx")


def test_error_rate() -> None:
    prometheus = PrometheusConnect(url=PROMETHEUS_URL)
    query = (
        f'(sum(increase(http_requests_total{{{SELECTOR},code=~"5.."}}[{WINDOW}])) or vector(0))'
        f" / sum(increase(http_requests_total{{{SELECTOR}}}[{WINDOW}]))"
    )
    result = prometheus.custom_query(query)
    assert result, query
    assert float(result[0]["value"][1]) <= 0.01, result


def test_latency_p99() -> None:
    prometheus = PrometheusConnect(url=PROMETHEUS_URL)
    query = (
        f"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{{SELECTOR}}}[{WINDOW}])))"
    )
    result = prometheus.custom_query(query)
    assert result, query
    assert float(result[0]["value"][1]) <= 0.5, result
