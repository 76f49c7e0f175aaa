"""Fixtures for the security tests: recording servers on 127.0.0.1, identities on the local cluster whose
credentials are canaries to look for, and every output a run leaves on the cluster."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from canary_support import Recording
from canary_support import recording_server
from kubernetes import client

from localenv_support import REPO_ROOT
from localenv_support import LocalEnv
from restricted_runs import bind_user
from restricted_runs import identity_kubeconfig


@pytest.fixture
def prometheus_recorder(localenv: LocalEnv) -> Iterator[Recording]:
    """A proxy in front of the real Prometheus that records what rollcheck sends it (the credentials)."""
    with recording_server(localenv.prometheus_url) as recording:
        yield recording


@pytest.fixture
def notification_receiver() -> Iterator[Recording]:
    """One receiver for Slack, WeCom and the generic webhook: each canary URL names it with its own path."""
    with recording_server() as recording:
        yield recording


def _rollcheck_role(kube_api: client.ApiClient, namespace: str) -> str:
    """deploy/rbac.yaml's Role, created in `namespace`: the rights rollcheck is documented to need, no more."""
    [role] = [
        doc for doc in yaml.safe_load_all((REPO_ROOT / "deploy" / "rbac.yaml").read_text()) if doc["kind"] == "Role"
    ]
    role["metadata"] = {"name": f"rollcheck-{uuid.uuid4().hex[:6]}", "namespace": namespace}
    client.RbacAuthorizationV1Api(kube_api).create_namespaced_role(namespace, role)
    return str(role["metadata"]["name"])


def _cluster(localenv: LocalEnv) -> dict[str, object]:
    admin = yaml.safe_load(localenv.kubeconfig.read_text())
    cluster: dict[str, object] = admin["clusters"][0]["cluster"]
    return cluster


def _kubeconfig(path: Path, localenv: LocalEnv, user: dict[str, str]) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": _cluster(localenv)}],
        "users": [{"name": "canary", "user": user}],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": "canary"}}],
        "current-context": "local",
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture
def token_kubeconfig(
    kube_api: client.ApiClient, namespace: str, localenv: LocalEnv, tmp_path: Path
) -> tuple[Path, str]:
    """A kubeconfig whose user is a bearer token (a ServiceAccount's, with rollcheck's Role in the test's
    namespace), and the token: a real credential the API server must receive for the rollback to happen."""
    name = f"canary-{uuid.uuid4().hex[:6]}"
    role = _rollcheck_role(kube_api, namespace)
    core = client.CoreV1Api(kube_api)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": name}})
    client.RbacAuthorizationV1Api(kube_api).create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        },
    )
    request = core.create_namespaced_service_account_token(name, namespace, {"spec": {"expirationSeconds": 3600}})
    token: str = request.status.token
    return _kubeconfig(tmp_path / "token-kubeconfig", localenv, {"token": token}), token


@pytest.fixture
def key_kubeconfig(kube_api: client.ApiClient, namespace: str, localenv: LocalEnv, tmp_path: Path) -> tuple[Path, str]:
    """A kubeconfig whose user is a client certificate with its key written into the file, with rollcheck's Role in
    the test's namespace, and the key's PEM text."""
    user = f"canary-{uuid.uuid4().hex[:6]}"
    issued = yaml.safe_load(identity_kubeconfig(user).read_text())["users"][0]["user"]
    bind_user(kube_api, namespace, _rollcheck_role(kube_api, namespace), user)
    certificate = Path(issued["client-certificate"]).read_bytes()
    key = Path(issued["client-key"]).read_bytes()
    data = {
        "client-certificate-data": base64.b64encode(certificate).decode(),
        "client-key-data": base64.b64encode(key).decode(),
    }
    return _kubeconfig(tmp_path / "key-kubeconfig", localenv, data), key.decode()
