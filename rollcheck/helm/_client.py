"""A small client of the helm CLI: status, history, manifest and rollback of one release, as data.

helm is run as a subprocess with an argument list (never a shell), with --kubeconfig and --kube-context passed
through so it talks to the cluster rollcheck reads. Its failures become rollcheck's errors here, at the
boundary, with helm's own one-line message truncated. Nothing here logs helm's output: `helm status` carries
the release's values and manifest, and either can hold secrets.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import ClusterUnavailable
from .._errors import ConfigError
from .._errors import Conflict
from .._errors import Forbidden
from .._errors import NotFound
from .._errors import RollbackError
from .._errors import RollcheckError
from .._errors import truncate

__all__ = ["DEPLOYED_STATES", "Helm", "HelmRevision", "HelmStatus", "previous_deployed", "translate"]

#: Revision states a rollback may restore: the release once ran them successfully (helm's own rule for
#: --rollback-on-failure). `failed` and the `pending-*` states are never restored.
DEPLOYED_STATES = frozenset({"deployed", "superseded"})

#: Seconds a read (status, history, manifest) may take; the rollback has its own timeout.
_READ_TIMEOUT = 60.0
#: Extra seconds the rollback subprocess gets beyond helm's own --timeout, so helm reports its timeout first.
_ROLLBACK_SLACK = 30.0

#: Fragments of helm's error text, lower case, that mean the cluster could not be reached at all.
_UNREACHABLE = ("cluster unreachable", "connection refused", "i/o timeout", "no such host", "tls handshake timeout")


@dataclass(frozen=True, kw_only=True)
class HelmRevision:
    """One line of `helm history -o json`."""

    revision: int
    """The revision number; every install, upgrade and rollback adds one."""
    status: str
    """deployed, superseded, failed, pending-upgrade …"""
    chart: str
    """Chart name and version, `demo-1.0.0`."""
    app_version: str
    """The chart's appVersion."""
    description: str
    """helm's note: `Install complete`, `Upgrade complete`, `Rollback to 1` …"""


def previous_deployed(history: Sequence[HelmRevision], current: int) -> HelmRevision | None:
    """The revision a rollback restores: the newest one before `current` that the release once ran
    successfully; None when there is none. The rollback engine and preflight both choose with this, so
    preflight cannot promise a revision the rollback would not take."""
    earlier = [entry for entry in history if entry.revision < current and entry.status in DEPLOYED_STATES]
    return max(earlier, key=lambda entry: entry.revision, default=None)


@dataclass(frozen=True, kw_only=True)
class HelmStatus:
    """The release's current revision, from `helm status -o json`."""

    revision: int
    """The newest revision, whatever its state."""
    status: str
    """Its state: deployed, failed, pending-upgrade …"""
    manifest: str
    """The rendered manifest of that revision (may hold Secrets: never log it)."""


@dataclass(frozen=True, kw_only=True)
class Helm:
    """The helm CLI against one cluster."""

    binary: str = "helm"
    """The helm executable: a name looked up on PATH, or a path (the `helm` option, ROLLCHECK_HELM)."""
    kubeconfig: Path | None = None
    """Passed as --kubeconfig; None lets helm use $KUBECONFIG, ~/.kube/config or the in-cluster account."""
    context: str | None = None
    """Passed as --kube-context; None means the kubeconfig's current context."""

    def status(self, release: str, namespace: str) -> HelmStatus:
        """The release's current revision. Raises NotFound if there is no such release."""
        data = self._json(["status", release, "--namespace", namespace], f"helm status {namespace}/{release}")
        if not isinstance(data, dict) or not isinstance(data.get("version"), int):
            raise ClusterUnavailable(f"helm status {namespace}/{release}: answered without a revision number")
        info = data.get("info") or {}
        return HelmStatus(
            revision=data["version"], status=str(info.get("status", "")), manifest=data.get("manifest") or ""
        )

    def history(self, release: str, namespace: str) -> list[HelmRevision]:
        """Every revision helm keeps (up to its --history-max), oldest first."""
        operation = f"helm history {namespace}/{release}"
        data = self._json(["history", release, "--namespace", namespace], operation)
        if not isinstance(data, list):
            raise ClusterUnavailable(f"{operation}: answered something other than a list of revisions")
        try:
            return sorted(
                (
                    HelmRevision(
                        revision=int(entry["revision"]),
                        status=str(entry.get("status", "")),
                        chart=str(entry.get("chart", "")),
                        app_version=str(entry.get("app_version", "")),
                        description=str(entry.get("description", "")),
                    )
                    for entry in data
                ),
                key=lambda entry: entry.revision,
            )
        except (KeyError, TypeError, ValueError):
            raise ClusterUnavailable(f"{operation}: answered a revision without a number") from None

    def manifest(self, release: str, namespace: str, revision: int) -> str:
        """The rendered manifest of one revision (may hold Secrets: never log it)."""
        args = ["get", "manifest", release, "--namespace", namespace, "--revision", str(revision)]
        return self._run(args, f"helm get manifest {namespace}/{release} --revision {revision}", timeout=_READ_TIMEOUT)

    def rollback(self, release: str, namespace: str, revision: int, *, dry_run: bool, timeout: float) -> None:
        """`helm rollback RELEASE REVISION` (without --wait: rollcheck waits for the rollouts itself).
        `timeout` bounds helm's hooks. Raises RollbackError when helm refuses or fails, and ClusterUnavailable
        when the outcome is unknown: the cluster could not be reached, or helm ran past its timeout and was
        stopped, possibly after it had written the rollback."""
        args = ["rollback", release, str(revision), "--namespace", namespace, "--timeout", f"{timeout:g}s"]
        if dry_run:
            args.append("--dry-run")
        operation = f"helm rollback {namespace}/{release} {revision}"
        self._run(
            args, operation, timeout=timeout + _ROLLBACK_SLACK, fallback=RollbackError, on_timeout=ClusterUnavailable
        )

    def _json(self, args: list[str], operation: str) -> Any:
        text = self._run([*args, "--output", "json"], operation, timeout=_READ_TIMEOUT)
        try:
            return json.loads(text)
        except ValueError:
            raise ClusterUnavailable(f"{operation}: answered something other than JSON") from None

    def _run(
        self,
        args: Sequence[str],
        operation: str,
        *,
        timeout: float,
        fallback: type[RollcheckError] = ClusterUnavailable,
        on_timeout: type[RollcheckError] | None = None,
    ) -> str:
        """helm's stdout. helm's failures become `fallback` (or what `translate` recognises); a helm that does
        not finish within `timeout` is killed and becomes `on_timeout` (default `fallback`)."""
        argv = [self.binary, *args]
        if self.kubeconfig is not None:
            argv += ["--kubeconfig", str(self.kubeconfig)]
        if self.context is not None:
            argv += ["--kube-context", self.context]
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        except (FileNotFoundError, PermissionError, NotADirectoryError) as error:
            problem = f"cannot be run ({error.strerror}); install helm 3 or point --helm (ROLLCHECK_HELM) at it"
            raise ConfigError("--helm", self.binary, "the run's settings", problem) from None
        except subprocess.TimeoutExpired:
            # Killed mid-way: for a write, what helm had already done is unknown, so callers may ask for an
            # error that says so (on_timeout) rather than the refusal error (fallback).
            timed_out = on_timeout or fallback
            raise timed_out(f"{operation}: helm did not finish within {timeout:g}s and was stopped") from None
        if result.returncode != 0:
            raise translate(result.stderr, operation, fallback)
        return result.stdout


def translate(stderr: str, operation: str, fallback: type[RollcheckError]) -> RollcheckError:
    """The rollcheck error for a failed helm command, from helm's `Error: …` line (warnings are dropped)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line.removeprefix("Error:").strip() for line in lines if line.startswith("Error:")]
    message = truncate(errors[-1] if errors else " ".join(lines) or "failed without a message")
    lowered = message.lower()
    if any(fragment in lowered for fragment in _UNREACHABLE):
        return ClusterUnavailable(f"{operation}: {message}")
    if lowered.endswith("not found") and "release" in lowered:
        return NotFound(404, "Not Found", message, operation=operation)
    if "forbidden" in lowered:
        return Forbidden(403, "Forbidden", message, operation=operation)
    if "another operation" in lowered and "in progress" in lowered:
        return Conflict(409, "Conflict", message, operation=operation)
    return fallback(f"{operation}: {message}")
