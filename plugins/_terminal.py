"""The rollcheck section of the terminal summary: what was decided and done, readable in a CI log."""

from __future__ import annotations

from pathlib import Path

from rollcheck import ExitCode
from rollcheck.record import CheckOutcome
from rollcheck.record import RunRecord

__all__ = ["summary_lines"]


def summary_lines(record: RunRecord, report_path: Path | None) -> list[str]:
    rollback = record.rollback
    lines = [
        f"verdict: {record.verdict.value.upper()} ({record.reason})",
        f"target: {record.target or '-'} in {record.namespace}, revision {record.release.revision}, "
        f"version {record.release.version or '-'}",
    ]
    for check in record.checks:
        if check.outcome not in (CheckOutcome.PASSED, CheckOutcome.SKIPPED):
            role = "gating" if check.gating else "advisory"
            first_line = check.message.splitlines()[0] if check.message else ""
            lines.append(f"  {check.outcome.value} ({role}, {check.category.value}): {check.id}: {first_line}")
    action = f"rollback: {rollback.action.value}"
    if rollback.to_revision is not None or rollback.to_version:
        action += (
            f" from revision {rollback.from_revision} ({rollback.from_version or '-'}) to revision "
            f"{rollback.to_revision} ({rollback.to_version or '-'})"
        )
    lines.append(f"{action}: {rollback.reason}")
    if rollback.recovered is not None:
        lines.append(f"health recovered: {'yes' if rollback.recovered else 'NO'}")
    if rollback.error:
        lines.append(f"rollback error: {rollback.error}")
    lines.extend(f"error: {error}" for error in record.errors)
    lines.append(f"exit code: {record.exit_code} ({ExitCode(record.exit_code).name.lower()})")
    if report_path is not None:
        lines.append(f"report: {report_path}")
    return lines
