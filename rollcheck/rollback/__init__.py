"""rollback: one engine per workload kind behind one small interface (plan, apply, wait), returning data.

Deployments are rolled back exactly as `kubectl rollout undo` does, plus rollcheck's guard (never roll back
anything deployed after the verified release), a resourceVersion test (never overwrite a concurrent write)
and marker annotations. StatefulSet, DaemonSet and Helm engines slot in behind `engine_for`.
"""

from __future__ import annotations

from ._controller_revisions import NO_LAST_REVISION
from ._controller_revisions import already_at
from ._controller_revisions import guarded_revision_patch
from ._controller_revisions import select_controller_revision
from ._daemonset import DaemonSetRollback
from ._deployment import DeploymentRollback
from ._engine import AppliedRollback
from ._engine import RollbackEngine
from ._engine import RollbackPlan
from ._engine import engine_for
from ._helm import HelmRollback
from ._statefulset import StatefulSetRollback
from ._statefulset import stuck_pods
from ._templates import ANNOTATIONS_TO_SKIP
from ._templates import MARKER_PREFIX
from ._templates import PAUSED_MESSAGE
from ._templates import ROLLBACK_REASON
from ._templates import ROLLED_BACK_AT
from ._templates import ROLLED_BACK_FROM
from ._templates import guarded_patch
from ._templates import kubectl_patch
from ._templates import marker_annotations
from ._templates import marker_ops
from ._templates import rollback_annotations
from ._templates import select_revision

__all__ = [
    "ANNOTATIONS_TO_SKIP",
    "MARKER_PREFIX",
    "NO_LAST_REVISION",
    "PAUSED_MESSAGE",
    "ROLLBACK_REASON",
    "ROLLED_BACK_AT",
    "ROLLED_BACK_FROM",
    "AppliedRollback",
    "DaemonSetRollback",
    "DeploymentRollback",
    "HelmRollback",
    "RollbackEngine",
    "RollbackPlan",
    "StatefulSetRollback",
    "already_at",
    "engine_for",
    "guarded_patch",
    "guarded_revision_patch",
    "kubectl_patch",
    "marker_annotations",
    "marker_ops",
    "rollback_annotations",
    "select_controller_revision",
    "select_revision",
    "stuck_pods",
]
