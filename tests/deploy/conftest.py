"""A test user holding exactly the rights deploy/rbac.yaml grants."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from deploy_manifests import CLUSTER_SCOPED
from deploy_manifests import DEPLOY
from deploy_manifests import kubectl
from deploy_manifests import load
from kubernetes import client

from localenv_support import LocalEnv
from restricted_runs import bind_user
from restricted_runs import identity_kubeconfig


@pytest.fixture
def rollcheck_identity(localenv: LocalEnv, kube_api: client.ApiClient, namespace: str) -> Iterator[Path]:
    """A client-certificate user holding exactly deploy/rbac.yaml's rights in `namespace`: the manifest applied
    for real, its Role and ClusterRole bound to the user (ServiceAccount tokens are off in the local cluster, so
    the manifest's own bindings to the ServiceAccount cannot be logged in as)."""
    suffix = f"-{uuid.uuid4().hex[:6]}"
    objects = load(DEPLOY / "rbac.yaml", namespace, suffix)
    code, output = kubectl(localenv, "apply", "-f", "-", stdin=yaml.safe_dump_all(objects))
    assert code == 0, output
    user = f"rollcheck{suffix}"
    bind_user(kube_api, namespace, "rollcheck", user)
    [cluster_role] = [doc["metadata"]["name"] for doc in objects if doc["kind"] == "ClusterRole"]
    rbac = client.RbacAuthorizationV1Api(kube_api)
    rbac.create_cluster_role_binding(
        {
            "metadata": {"name": f"{cluster_role}-user"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        }
    )
    yield identity_kubeconfig(user)
    rbac.delete_cluster_role_binding(f"{cluster_role}-user")
    for doc in objects:
        if doc["kind"] in CLUSTER_SCOPED:
            kubectl(localenv, "delete", doc["kind"], doc["metadata"]["name"], "--ignore-not-found")
