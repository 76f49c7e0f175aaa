"""`kubectl rollout undo daemonset/NAME` (docs/kubernetes.md A.2) with rollcheck's guard: see `_revisioned`."""

from __future__ import annotations

from ..target import TargetKind
from ._revisioned import RevisionedRollback

__all__ = ["DaemonSetRollback"]


class DaemonSetRollback(RevisionedRollback):
    """The DaemonSet rollback engine (implements RollbackEngine). A DaemonSet's controller replaces a pod at
    any revision, healthy or not, so nothing is left stuck after the patch."""

    kind = TargetKind.DAEMONSET
