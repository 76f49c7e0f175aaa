"""preflight: before any check runs, would a rollback of the target be possible?

It asks four questions: is there a previous revision, is `revisionHistoryLimit` not 0, is the workload not
paused, and may this identity patch it (a SelfSubjectAccessReview)? The kind-specific ones are answered by one
small reader per kind, with that kind's rollback engine's own choice of the revision to restore. A Helm release
is rolled back by helm, not by a patch, so its patch question is skipped with a note.
"""

from __future__ import annotations

from ._check import preflight
from ._kinds import WorkloadHistory

__all__ = ["WorkloadHistory", "preflight"]
