"""The Prometheus client, the escaping and the default selector against the local environment's real Prometheus."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from kubernetes import client

from localenv_support import LocalEnv
from localenv_support import Releases
from localenv_support import eventually
from localenv_support import free_port
from rollcheck.measure import Prometheus
from rollcheck.measure import default_selector
from rollcheck.measure import escape_label_value
from rollcheck.measure import label_matchers
from rollcheck.measure import scalar
from rollcheck.target import Release
from rollcheck.target import TargetRef

HOSTILE = [
    'a"}or vector(1)#',
    '"} or vector(1) or up{x="',
    'a\\"}or vector(1)#',
    "a\n} or vector(1)",
    "\\",
    "\ufffd",
]


@pytest.fixture(scope="module")
def prometheus(localenv: LocalEnv) -> Iterator[Prometheus]:
    source = Prometheus(localenv.prometheus_url, timeout=5)
    yield source
    source.close()


def test_request_rate_of_a_demo_release(releases: Releases, prometheus: Prometheus) -> None:
    releases.deploy("measured", "v1", replicas=2, port=free_port())
    releases.wait_rollout("measured")
    matchers = label_matchers({"namespace": releases.namespace, "workload": "measured"})
    query = f"sum(rate(http_requests_total{{{matchers}}}[15s]))"

    rate = eventually(lambda: scalar(prometheus, query), timeout=45, what=f"a request rate from {query}")
    assert rate > 0
    samples = prometheus.query(f"sum by (pod) (up{{{matchers}}})")
    assert len(samples) == 2
    assert all(s.value == 1.0 for s in samples)
    assert abs((datetime.datetime.now(datetime.UTC) - samples[0].at).total_seconds()) < 30


def test_default_selector_matches_exactly_the_new_replicasets_pods(releases: Releases, prometheus: Prometheus) -> None:
    releases.deploy("selected", "v1", replicas=2)
    releases.wait_rollout("selected")
    releases.set_release("selected", "v2")
    releases.wait_rollout("selected")
    core = client.CoreV1Api(releases.apps.api_client)
    pods = core.list_namespaced_pod(releases.namespace, label_selector="app=selected").items
    hashes = {pod.metadata.labels["pod-template-hash"] for pod in pods if pod.metadata.deletion_timestamp is None}
    release = Release(
        target=TargetRef.parse("deployment/selected"),
        namespace=releases.namespace,
        revision=2,
        images=("rollcheck-demo:v2",),
        version="v2",
        rollout_completed_at=None,
        template_hash=_newest_hash(releases),
    )
    assert release.template_hash in hashes
    query = f"count by (version) (up{{{default_selector(release)}}} == 1)"

    def only_v2() -> list[tuple[str, float]] | None:
        seen = [(s.labels["version"], s.value) for s in prometheus.query(query)]
        return seen if seen == [("v2", 2.0)] else None

    assert eventually(only_v2, timeout=45, what=f"two v2 pods and nothing else from {query}") == [("v2", 2.0)]


def _newest_hash(releases: Releases) -> str:
    replica_sets = releases.apps.list_namespaced_replica_set(releases.namespace, label_selector="app=selected").items
    newest = max(replica_sets, key=lambda rs: int(rs.metadata.annotations["deployment.kubernetes.io/revision"]))
    return str(newest.metadata.labels["pod-template-hash"])


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_label_values_select_nothing_instead_of_injecting(prometheus: Prometheus, value: str) -> None:
    # Unescaped, these would close the matcher and add `or vector(1)`, answering 1 instead of nothing.
    assert prometheus.query(f"up{{{label_matchers({'namespace': value})}}}") == []


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cs",)), min_size=1))
@example(HOSTILE[0])
@example(HOSTILE[3])
def test_any_escaped_value_round_trips_through_real_prometheus(prometheus: Prometheus, value: str) -> None:
    # label_replace sets the label to the escaped string literal as Prometheus parsed it; `$` is doubled
    # because the replacement expands `$1`-style references.
    literal = escape_label_value(value.replace("$", "$$"))
    samples = prometheus.query(f'label_replace(vector(1), "probe", "{literal}", "", "")')
    assert [dict(s.labels) for s in samples] == [{"probe": value}]
