"""kube: the Kubernetes boundary. Connection (kubeconfig or in-cluster), one retry loop, error translation into
rollcheck's errors, raw-JSON object helpers, the release reader, and kubectl's rollout status.

Nothing outside this package touches `kubernetes.client.ApiException` or urllib3: calls through `Kube` raise
rollcheck's errors (Forbidden, NotFound, Conflict, KubernetesError, ClusterUnavailable) only.
"""

from __future__ import annotations

from ._client import JSON_PATCH
from ._client import MERGE_PATCH
from ._client import Kube
from ._client import connect
from ._controller_revisions import REVISION_HASH_LABEL
from ._controller_revisions import STRATEGIC_MERGE_PATCH
from ._controller_revisions import current_controller_revision
from ._controller_revisions import owned_controller_revisions
from ._controller_revisions import revision_pod_selector
from ._controller_revisions import revision_pods
from ._controller_revisions import revision_template
from ._errors import KubeconfigError
from ._errors import UnsupportedKind
from ._errors import translate
from ._release import read_release
from ._release import template_images
from ._replicasets import POD_TEMPLATE_HASH
from ._replicasets import REVISION_ANNOTATION
from ._replicasets import annotated_revision
from ._replicasets import equal_ignore_hash
from ._replicasets import find_new_replica_set
from ._replicasets import is_controlled_by
from ._replicasets import owned_replica_sets
from ._replicasets import parse_revision
from ._replicasets import selector_string
from ._replicasets import semantic_equal
from ._replicasets import sorted_by_creation
from ._replicasets import without_hash
from ._retry import RetryPolicy
from ._retry import call_with_retries
from ._retry import is_transient
from ._status import PodProblem
from ._status import RolloutStatus
from ._status import pod_problems
from ._status import pods_restarting
from ._status import rollout_status
from ._status import wait_for_rollout

__all__ = [
    "JSON_PATCH",
    "MERGE_PATCH",
    "POD_TEMPLATE_HASH",
    "REVISION_ANNOTATION",
    "REVISION_HASH_LABEL",
    "STRATEGIC_MERGE_PATCH",
    "Kube",
    "KubeconfigError",
    "PodProblem",
    "RetryPolicy",
    "RolloutStatus",
    "UnsupportedKind",
    "annotated_revision",
    "call_with_retries",
    "connect",
    "current_controller_revision",
    "equal_ignore_hash",
    "find_new_replica_set",
    "is_controlled_by",
    "is_transient",
    "owned_controller_revisions",
    "owned_replica_sets",
    "parse_revision",
    "pod_problems",
    "pods_restarting",
    "read_release",
    "revision_pod_selector",
    "revision_pods",
    "revision_template",
    "rollout_status",
    "selector_string",
    "semantic_equal",
    "sorted_by_creation",
    "template_images",
    "translate",
    "wait_for_rollout",
    "without_hash",
]
