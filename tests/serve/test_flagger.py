"""Flagger's webhook contract against the local cluster: 200 when the suite passes, non-2xx and the reason when
it does not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from serve_support import AUTH
from serve_support import inconclusive_suite

from localenv_support import Releases
from rollcheck.serve import ReceiverServer
from rollcheck.settings import OnInconclusive

StartReceiver = Callable[..., ReceiverServer]


def _suite(directory: Path, expected_version: str) -> Path:
    directory.mkdir()
    (directory / "test_canary.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.rollcheck_check(category='custom', severity='critical')\n"
        "def test_canary_runs_the_new_version(release):\n"
        f"    assert release.version == {expected_version!r}, f'the canary runs {{release.version}}'\n"
    )
    return directory


def _check(server: ReceiverServer, name: str, namespace: str, **extra: object) -> httpx.Response:
    body = {"name": name, "namespace": namespace, "phase": "Progressing", "checksum": "6d5fbb9d5c", **extra}
    return httpx.post(f"{server.url}/flagger/check", json=body, headers=AUTH, timeout=300)


def test_a_passing_suite_answers_200_and_a_failing_one_412_with_the_reason(
    cluster_receiver: StartReceiver, releases: Releases, tmp_path: Path
) -> None:
    releases.deploy("canary", "v2", replicas=1)
    releases.wait_rollout("canary")
    passing = cluster_receiver(flagger_suite=_suite(tmp_path / "passing", "v2"), suite_timeout=240.0)
    failing = cluster_receiver(flagger_suite=_suite(tmp_path / "failing", "v3"), suite_timeout=240.0)

    ok = _check(passing, "canary", releases.namespace, metadata={"type": "pre-rollout"})
    assert ok.status_code == 200, ok.text
    assert (ok.json()["outcome"], ok.json()["target"]) == ("passed", "deployment/canary")

    refused = _check(failing, "canary", releases.namespace)
    assert refused.status_code == 412, refused.text
    assert refused.json()["outcome"] == "failed"
    assert "test_canary_runs_the_new_version" in refused.json()["reason"]
    assert Path(refused.json()["report"]).is_file()


def test_flagger_calls_are_authenticated_and_bounded_to_the_allowed_namespaces(
    start_receiver: StartReceiver, tmp_path: Path
) -> None:
    # The suite is never run: every request here is refused before it would be.
    server = start_receiver(allow_namespaces=frozenset({"prod"}), flagger_suite=tmp_path)
    body = {"name": "shop", "namespace": "prod", "phase": "Progressing", "checksum": "x"}
    unauthenticated = httpx.post(f"{server.url}/flagger/check", json=body, timeout=10)
    assert unauthenticated.status_code == 401
    elsewhere = _check(server, "shop", "staging")
    assert elsewhere.status_code == 403
    assert "not one of --allow-namespace prod" in elsewhere.json()["reason"]
    bad_target = _check(server, "shop", "prod", metadata={"target": "job/x"})
    assert bad_target.status_code == 422


def test_without_a_flagger_suite_the_route_is_404_not_a_held_canary(start_receiver: StartReceiver) -> None:
    server = start_receiver()
    off = _check(server, "shop", "prod")
    assert off.status_code == 404, off.text
    assert "started without --flagger-suite" in off.json()["error"]
    assert httpx.post(f"{server.url}/flagger/check", json={}, timeout=10).status_code == 404  # before the token


def test_an_inconclusive_suite_follows_on_inconclusive(
    cluster_receiver: StartReceiver, releases: Releases, tmp_path: Path
) -> None:
    releases.deploy("unsure-canary", "v2", replicas=1)
    releases.wait_rollout("unsure-canary")
    suite = inconclusive_suite(tmp_path / "suite")
    held = cluster_receiver(flagger_suite=suite, suite_timeout=240.0)
    lenient_settings = {"on_inconclusive": OnInconclusive.PASS}
    passed = cluster_receiver(flagger_suite=suite, suite_timeout=240.0, settings=lenient_settings)

    default = _check(held, "unsure-canary", releases.namespace)
    assert default.status_code == 503, default.text
    assert (default.json()["outcome"], default.json()["on_inconclusive"]) == ("inconclusive", "fail")
    lenient = _check(passed, "unsure-canary", releases.namespace)
    assert lenient.status_code == 200, lenient.text
    assert lenient.json()["outcome"] == "inconclusive"
    assert "--on-inconclusive=pass" in lenient.json()["reason"]
