"""Reading the release under test once, at the start, on the controller, and handing it to xdist workers.

The controller's reading is the verified release: the rollback guard later compares the live workload against
it, so every process must judge that same snapshot rather than read its own.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from rollcheck import ClusterUnavailable
from rollcheck import RollcheckError
from rollcheck.act import SessionConnection
from rollcheck.settings import Settings
from rollcheck.target import Release
from rollcheck.target import TargetRef

from ._state import CONNECTION_KEY
from ._state import RELEASE_KEY

__all__ = ["XdistHandoff", "image_mismatch", "read_verified_release", "release_from_worker_input"]

_WIRE_KEY = "rollcheck_release"


def read_verified_release(config: pytest.Config, settings: Settings) -> Release | Exception:
    """Wait (bounded) for the target's rollout to settle, then read the release that will be judged. Any failure
    is returned, not raised: it makes the verdict inconclusive, and the report says why.

    The read opens the run's connection (CONNECTION_KEY), which stays open, kept warm, for the rollback: a
    failed verdict is then acted on without a new kubeconfig load and TLS handshake. pytest closes it when it
    unconfigures."""
    from rollcheck.helm import Helm
    from rollcheck.helm import read_target_release

    assert settings.target is not None
    helm = Helm(binary=settings.helm, kubeconfig=settings.kubeconfig, context=settings.context)
    connection = config.stash[CONNECTION_KEY] = SessionConnection(settings)
    config.add_cleanup(connection.close)
    try:
        kube = connection.open()
        return read_target_release(kube, helm, settings.target, settings.namespace, wait=settings.rollout_timeout)
    except RollcheckError as error:
        return error
    except Exception as error:  # an unexpected object from the API: still a reason, never a lost report
        return ClusterUnavailable(f"reading {settings.target} failed unexpectedly: {type(error).__name__}: {error}")
    finally:
        if not settings.rollback and not settings.dry_run:
            connection.close()  # nothing will be rolled back, so nothing needs it warm


def image_mismatch(settings: Settings, release: Release) -> str | None:
    missing = [image for image in settings.expect_images if image not in release.images]
    if not missing:
        return None
    return (
        f"the release under test runs {', '.join(release.images) or 'no images'}, not the expected "
        f"{', '.join(missing)} (--expect-image): refusing to judge a release CI did not deploy"
    )


def _to_wire(found: Release | Exception) -> dict[str, Any]:
    """Plain data for execnet (workerinput carries only builtins)."""
    if isinstance(found, Exception):
        return {"error": str(found)}
    return {
        "target": str(found.target),
        "namespace": found.namespace,
        "revision": found.revision,
        "images": list(found.images),
        "version": found.version,
        "rollout_completed_at": found.rollout_completed_at.isoformat() if found.rollout_completed_at else None,
        "generation": found.generation,
        "uid": found.uid,
        "template_hash": found.template_hash,
        "workloads": [str(workload) for workload in found.workloads],
    }


def _from_wire(wire: dict[str, Any]) -> Release | Exception:
    if "error" in wire:
        return ClusterUnavailable(wire["error"])
    completed = wire["rollout_completed_at"]
    return Release(
        target=TargetRef.parse(wire["target"]),
        namespace=wire["namespace"],
        revision=wire["revision"],
        images=tuple(wire["images"]),
        version=wire["version"],
        rollout_completed_at=datetime.datetime.fromisoformat(completed) if completed else None,
        generation=wire["generation"],
        uid=wire["uid"],
        template_hash=wire["template_hash"],
        workloads=tuple(TargetRef.parse(workload) for workload in wire["workloads"]),
    )


def release_from_worker_input(config: pytest.Config) -> Release | Exception | None:
    """On an xdist worker: the controller's reading, if it sent one."""
    wire = getattr(config, "workerinput", {}).get(_WIRE_KEY)
    return _from_wire(wire) if wire is not None else None


class XdistHandoff:
    """Registered on the controller only when xdist is present (its hook would not validate otherwise)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_configure_node(self, node: Any) -> None:
        found = self.config.stash.get(RELEASE_KEY, None)
        if found is not None:
            node.workerinput[_WIRE_KEY] = _to_wire(found)
