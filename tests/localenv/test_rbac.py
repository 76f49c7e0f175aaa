"""A restricted identity (a client certificate from `scripts/localenv identity`) is denied for real by RBAC."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes import config as kube_config

from localenv_support import REPO_ROOT
from localenv_support import Releases


def _identity(user: str) -> Path:
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "localenv"), "identity", user], capture_output=True, text=True, check=True
    )
    return Path(result.stdout.strip())


def test_restricted_identity_gets_403_outside_its_role(releases: Releases, kube_api: client.ApiClient) -> None:
    releases.deploy("guarded", "v1", replicas=1)
    user = f"reader-{uuid.uuid4().hex[:6]}"
    rbac = client.RbacAuthorizationV1Api(kube_api)
    rbac.create_namespaced_role(
        releases.namespace,
        {
            "metadata": {"name": "deployment-reader"},
            "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]}],
        },
    )
    rbac.create_namespaced_role_binding(
        releases.namespace,
        {
            "metadata": {"name": "deployment-reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployment-reader"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        },
    )
    restricted = kube_config.new_client_from_config(config_file=str(_identity(user)))
    apps = client.AppsV1Api(restricted)

    assert apps.read_namespaced_deployment("guarded", releases.namespace).metadata.name == "guarded"
    with pytest.raises(client.ApiException) as denied:
        apps.patch_namespaced_deployment("guarded", releases.namespace, {"spec": {"replicas": 2}})
    assert denied.value.status == 403
    assert f'User "{user}" cannot patch resource "deployments"' in json.loads(denied.value.body)["message"]
    with pytest.raises(client.ApiException) as other_namespace:
        apps.list_namespaced_deployment("default")
    assert other_namespace.value.status == 403
    restricted.close()
