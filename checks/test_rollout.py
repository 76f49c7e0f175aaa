"""The release rolled out: complete as `kubectl rollout status` judges it, and its new pods are not restarting."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from rollcheck.target import Release

if TYPE_CHECKING:
    from rollcheck.kube import Kube

pytestmark = pytest.mark.rollcheck_check(category="rollout")


def test_rollout_complete(release: Release, kube: Kube) -> None:
    # Imported here: collecting the checks of a health-only run must not load the kubernetes client.
    from rollcheck.kube import rollout_status

    # The run already waited (up to --rollout-timeout) for the rollout before reading the release: judge it now.
    status = rollout_status(kube.get_raw(release.target.kind.value, release.target.name, release.namespace))
    # kubectl's own words: "exceeded its progress deadline", "timed out after …: n of m updated replicas …".
    done, message = status.done, f"{release.target} in namespace {release.namespace}: {status.message}"
    assert done, message


def test_new_pods_not_restarting(release: Release, kube: Kube) -> None:
    from rollcheck.kube import pods_restarting

    problems = [str(problem) for problem in pods_restarting(kube, release.namespace, release.template_hash)]
    count = len(problems)
    assert count == 0, (
        f"{count} container(s) of {release.target}'s new revision are crash-looping or restarting: "
        + "; ".join(problems)
    )
