"""Preflight in the record: would a rollback be possible, asked before any check ran."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class PreflightProblem:
    """One reason a rollback would not be possible, found before any check ran."""

    check: str
    """Which question found it: previous_revision, revision_history_limit, paused or patch_allowed."""
    message: str
    """What was found and what to do about it."""

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "message": self.message}


@dataclass(frozen=True, kw_only=True)
class PreflightRecord:
    """Would a rollback be possible? Asked at the start of the run, right after the release was read."""

    checked: bool = False
    """False when preflight did not run (no target, the release could not be read, rollback off)."""
    problems: tuple[PreflightProblem, ...] = ()
    """What would stop a rollback; warnings, or the reason nothing ran with --require-rollback-ready."""
    notes: tuple[str, ...] = ()
    """Questions that were skipped and why (a kind without a history check yet, rollback off)."""
    required: bool = False
    """--require-rollback-ready was set: any problem stops the run before the checks."""

    @property
    def blocking(self) -> bool:
        """Did preflight stop the run before any check?"""
        return self.required and bool(self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "ready": self.checked and not self.problems,
            "required": self.required,
            "problems": [problem.to_dict() for problem in self.problems],
            "notes": list(self.notes),
        }
