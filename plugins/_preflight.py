"""Preflight in the session: asked on the controller right after the release is read, before any check runs.

Its problems are warnings at the top of the output and in report.json; with --require-rollback-ready they stop
the run before the checks (the session skips the test loop and the finish records why, with exit code 4).
"""

from __future__ import annotations

import pytest

from rollcheck.record import PreflightProblem
from rollcheck.record import PreflightRecord
from rollcheck.settings import Settings
from rollcheck.target import Release

__all__ = ["PREFLIGHT_KEY", "check_rollback_ready", "preflight_lines"]

PREFLIGHT_KEY = pytest.StashKey[PreflightRecord]()
"""config.stash (controller only): whether a rollback would be possible, found before the checks ran."""


def check_rollback_ready(settings: Settings, release: Release) -> PreflightRecord:
    """Preflight of the verified release. Anything that goes wrong is a problem in the record, never raised."""
    required = settings.require_rollback_ready
    if not settings.rollback and not settings.dry_run:
        return PreflightRecord(notes=("rollback is off (--no-rollback): not checked",), required=required)
    from rollcheck.helm import Helm
    from rollcheck.kube import connect
    from rollcheck.preflight import preflight

    helm = Helm(binary=settings.helm, kubeconfig=settings.kubeconfig, context=settings.context)
    try:
        with connect(kubeconfig=settings.kubeconfig, context=settings.context) as kube:
            return preflight(kube, release, required=required, helm=helm)
    except Exception as error:  # the report must say why, whatever broke
        problem = PreflightProblem(check="preflight", message=f"preflight could not run: {error}")
        return PreflightRecord(checked=True, problems=(problem,), required=required)


def preflight_lines(record: PreflightRecord | None) -> list[str]:
    """Terminal lines: every problem as a warning, every skipped question as a note."""
    if record is None:
        return []
    lines = [f"rollcheck: WARNING: preflight: a rollback would fail: {p.message}" for p in record.problems]
    lines += [f"rollcheck: preflight: {note}" for note in record.notes]
    if record.blocking:
        lines.append("rollcheck: preflight failed and --require-rollback-ready is set: no check runs")
    return lines
