"""The fixtures checks are written with: `rollcheck_settings`, `release`, `http`, `prom`, `kube`, `evidence`.

Registered as a plugin by `rollcheck.plugins`. Every client is loaded only when a check asks for it: httpx
and rollcheck.measure inside the fixtures that use them, kubernetes inside the `kube` fixture,
prometheus-api-client when `prom` builds its client. A run whose checks use no fixture (or only
`rollcheck_settings`) loads none of them, and one that only probes health never loads the metric clients.

Scopes: the clients and the release are per session (one connection pool, one read of the release), built from
the run's settings. Per-check `rollcheck_settings` markers apply to what a check reads from the
`rollcheck_settings` fixture (thresholds, window, queries, selector), never to the session's clients.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from rollcheck import ClusterUnavailable
from rollcheck.settings import BaselineMode
from rollcheck.settings import Settings
from rollcheck.settings import with_marker_overrides

from ._state import MEASUREMENTS_KEY
from ._state import PROMETHEUS_AUTH_KEY
from ._state import RELEASE_KEY
from ._state import SETTINGS_KEY

if TYPE_CHECKING:
    import httpx

    from rollcheck.kube import Kube
    from rollcheck.measure import BaselineComparer
    from rollcheck.measure import Evidence
    from rollcheck.measure import MetricWindow
    from rollcheck.measure import Prom
    from rollcheck.target import Release

__all__ = ["baseline", "evidence", "http", "kube", "metric_window", "prom", "release", "rollcheck_settings"]

NOT_ENABLED = (
    "rollcheck is not enabled in this pytest run, so its settings and fixtures are unavailable. Run the checks "
    "with `rollcheck run --target KIND/NAME …`, or with `pytest --rollcheck-target KIND/NAME` "
    "(or `pytest --rollcheck` to check without a target)."
)


def run_settings(config: pytest.Config) -> Settings:
    """The run's resolved settings (before any marker); fails the check clearly when rollcheck is off."""
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None:
        pytest.fail(NOT_ENABLED, pytrace=False)
    return settings


@pytest.fixture
def rollcheck_settings(request: pytest.FixtureRequest) -> Settings:
    """The settings for this check: the run's, with its `@pytest.mark.rollcheck_settings(...)` applied
    (the closest marker wins per option)."""
    settings = run_settings(request.config)
    overrides: dict[str, object] = {}
    # iter_markers yields the closest first; applying from the farthest lets closer markers win. The values were
    # checked at collection (a bad one is a usage error), so applying them here cannot fail.
    for mark in reversed(list(request.node.iter_markers("rollcheck_settings"))):
        overrides.update(mark.kwargs)
    if not overrides:
        return settings
    return with_marker_overrides(settings, overrides, f"marker on {request.node.nodeid}")


@pytest.fixture(scope="session")
def release(pytestconfig: pytest.Config) -> Release:
    """The release under test, read once when the run started.

    Skipped without a target (the run only checks endpoints); inconclusive (ClusterUnavailable) when the
    release could not be read, since nothing can then be said about it."""
    settings = run_settings(pytestconfig)
    found = pytestconfig.stash.get(RELEASE_KEY, None)
    if isinstance(found, Exception):
        raise ClusterUnavailable(f"the release under test could not be read: {found}") from found
    if found is None:
        if settings.target is None:
            pytest.skip("no target given (--target or --rollcheck-target)")
        pytest.fail(f"the release {settings.target} was not read at the start of the run", pytrace=False)
    return found


@pytest.fixture(scope="session")
def http(pytestconfig: pytest.Config) -> Iterator[httpx.Client]:
    """An httpx client on the release's base URL (relative paths: `http.get("/api/items")`), with the run's
    timeout, TLS settings, at most 5 redirects and connection-error retries."""
    settings = run_settings(pytestconfig)
    if not settings.base_url:
        pytest.fail(
            "this check needs the release's base URL: give --base-url (rollcheck run), --rollcheck-base-url "
            "(pytest) or ROLLCHECK_BASE_URL",
            pytrace=False,
        )
    from rollcheck.measure import http_client

    with http_client(settings) as client:
        yield client


@pytest.fixture(scope="session")
def prom(pytestconfig: pytest.Config, request: pytest.FixtureRequest) -> Iterator[Prom]:
    """Queries on the run's Prometheus, with `.selector` matching the release's series (the configured
    selector, or the pods of the target's newest ReplicaSet). Credentials come from ROLLCHECK_PROMETHEUS_TOKEN or
    ROLLCHECK_PROMETHEUS_USERNAME/_PASSWORD."""
    settings = run_settings(pytestconfig)
    if not settings.prometheus_url:
        pytest.fail(
            "this check needs Prometheus: give --prometheus-url (rollcheck run), --rollcheck-prometheus-url "
            "(pytest) or ROLLCHECK_PROMETHEUS_URL",
            pytrace=False,
        )
    from rollcheck.measure import Prom
    from rollcheck.measure import Prometheus
    from rollcheck.measure import default_selector

    if settings.selector is not None:
        selector = settings.selector
    else:
        the_release: Release = request.getfixturevalue("release")
        selector = default_selector(the_release)
    auth = pytestconfig.stash[PROMETHEUS_AUTH_KEY]
    verify: bool | str = str(settings.ca_file) if settings.tls_verify and settings.ca_file else settings.tls_verify
    source = Prometheus(settings.prometheus_url, headers=auth.headers(), verify=verify, timeout=settings.http_timeout)
    try:
        yield Prom(source, selector=selector, max_query_seconds=source.max_duration)
    finally:
        source.close()


@pytest.fixture(scope="session")
def kube(pytestconfig: pytest.Config) -> Iterator[Kube]:
    """The Kubernetes API (kubeconfig, context or in-cluster account from the settings), with rollcheck's
    error translation and retries."""
    settings = run_settings(pytestconfig)
    from rollcheck.kube import connect

    with connect(kubeconfig=settings.kubeconfig, context=settings.context) as client:
        yield client


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """Records this check's measurements (query, value, threshold, window) for the report."""
    from rollcheck.measure import Evidence

    return Evidence(request.node.stash.setdefault(MEASUREMENTS_KEY, []))


@pytest.fixture
def metric_window(rollcheck_settings: Settings, evidence: Evidence, request: pytest.FixtureRequest) -> MetricWindow:
    """Prometheus and the window a metric check measures over, once there is something to judge.

    Skipped when no Prometheus URL was given (nobody asked for metric checks). Waits, bounded by the check
    timeout, until the window since the rollout completed has passed. Inconclusive (InsufficientData) below
    --min-requests, recording the request count as evidence."""
    settings = rollcheck_settings
    if not settings.prometheus_url:
        pytest.skip("no Prometheus URL given (--prometheus-url or --rollcheck-prometheus-url)")
    from rollcheck.measure import MetricWindow
    from rollcheck.measure import require_requests
    from rollcheck.measure import wait_for_window

    # Asked for only now, so that a run without Prometheus skips before anything connects.
    prom: Prom = request.getfixturevalue("prom")
    release: Release = request.getfixturevalue("release")
    deadline = settings.check_timeout - 3 * prom.max_query_seconds
    seconds = wait_for_window(release, settings.window, deadline_seconds=deadline)
    require_requests(prom, settings, seconds, evidence)
    return MetricWindow(prom, seconds)


@pytest.fixture
def baseline(rollcheck_settings: Settings, evidence: Evidence, request: pytest.FixtureRequest) -> BaselineComparer:
    """Compares a query between the release and its baseline (`--baseline previous-pods` or `before-rollout`)
    with a Mann-Whitney U test, recording both samples and the test as evidence.

    Skipped when the baseline is off or there is no Prometheus URL. For before-rollout it waits, like
    `metric_window`, until the window since the rollout completed has passed; previous-pods measures the last
    window at once, since the previous pods run only until the rollout completes."""
    settings = rollcheck_settings
    if settings.baseline is BaselineMode.OFF:
        pytest.skip("baseline comparison is off (--baseline previous-pods or before-rollout turns it on)")
    if not settings.prometheus_url:
        pytest.skip("no Prometheus URL given (--prometheus-url or --rollcheck-prometheus-url)")
    from rollcheck.measure import BaselineComparer
    from rollcheck.measure import plan_baseline
    from rollcheck.measure import wait_for_window

    prom: Prom = request.getfixturevalue("prom")
    the_release: Release = request.getfixturevalue("release")
    kube: Kube = request.getfixturevalue("kube")
    seconds = settings.window
    if settings.baseline is BaselineMode.BEFORE_ROLLOUT:
        deadline = settings.check_timeout - 3 * prom.max_query_seconds
        seconds = wait_for_window(the_release, settings.window, deadline_seconds=deadline)
    plan = plan_baseline(
        settings,
        the_release,
        kube,
        canary_selector=settings.selector if settings.selector is not None else prom.selector,
        seconds=seconds,
        now=datetime.datetime.now(datetime.UTC),
    )
    return BaselineComparer(prom.source, plan, settings, evidence)
