"""A rollcheck Kube connection to the local environment, for the cluster tests of this package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from localenv_support import LocalEnv

from rollcheck.kube import Kube
from rollcheck.kube import connect


@pytest.fixture(scope="module")
def rollcheck_kube(localenv: LocalEnv) -> Iterator[Kube]:
    with connect(kubeconfig=localenv.kubeconfig, context=None) as kube:
        yield kube
