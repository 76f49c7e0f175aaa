"""The real API server refuses the rollback PATCH with 422: an admission policy (a ValidatingAdmissionPolicy
bound to this test's namespace only) withdraws the version the rollback would restore. Retrying cannot help:
the rollback fails at once, names the refusal, and nothing is changed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fault_runs import PluginRun
from fault_runs import image
from fault_runs import two_revisions
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from localenv_support import LocalEnv
from localenv_support import Releases
from localenv_support import eventually
from rollcheck import ExitCode

WITHDRAWN = "v1 is withdrawn: it leaks memory"


def _policy(name: str) -> Any:  # a plain dict: the client's create_* take one as the body
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": ["apps"],
                        "apiVersions": ["v1"],
                        "operations": ["UPDATE"],
                        "resources": ["deployments"],
                    }
                ]
            },
            "validations": [
                {
                    "expression": "!object.spec.template.spec.containers.exists(c, c.image.endsWith(':v1'))",
                    "message": WITHDRAWN,
                    "reason": "Invalid",  # answered 422, as an invalid object is
                }
            ],
        },
    }


def _binding(name: str, namespace: str) -> Any:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}},
        },
    }


@pytest.fixture
def v1_withdrawn(kube_api: client.ApiClient, namespace: str) -> Iterator[str]:
    """A policy refusing any Deployment update to a v1 image, in this test's namespace only (policies are
    cluster-wide objects: the binding keeps it away from every other namespace)."""
    admission = client.AdmissionregistrationV1Api(kube_api)
    name = f"rollcheck-faults-{uuid.uuid4().hex[:8]}"
    admission.create_validating_admission_policy(_policy(name))
    admission.create_validating_admission_policy_binding(_binding(name, namespace))
    try:
        yield name
    finally:
        admission.delete_validating_admission_policy_binding(name)
        admission.delete_validating_admission_policy(name)


def _refused(apps: client.AppsV1Api, name: str, namespace: str) -> bool:
    """Is the policy in force yet? (The API server loads new policies asynchronously.)"""
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "rollcheck-demo:v1"}]}}}}
    try:
        apps.patch_namespaced_deployment(name, namespace, patch, dry_run="All")
    except ApiException as error:
        return bool(error.status == 422)
    return False


def test_a_422_from_admission_fails_the_rollback_at_once_and_changes_nothing(
    pytester: pytest.Pytester, releases: Releases, localenv: LocalEnv, v1_withdrawn: str
) -> None:
    name = "withdrawn"
    two_revisions(releases, name)
    eventually(lambda: _refused(releases.apps, name, releases.namespace), timeout=30, what="the policy in force")
    run = PluginRun(pytester, kubeconfig=localenv.kubeconfig, namespace=releases.namespace, name=name)

    finished = run.run()

    assert finished.returncode == ExitCode.ROLLBACK_FAILED, finished.stderr[-3000:]
    report = finished.report
    rollback = report["rollback"]
    assert rollback["action"] == "failed"
    assert rollback["issued_at"] is None
    error = rollback["error"]
    assert error.startswith(f"patch deployment {releases.namespace}/{name}: 422 "), error
    assert WITHDRAWN in error
    assert v1_withdrawn in error, "the message names the policy that refused"
    assert report["exit_code"] == ExitCode.ROLLBACK_FAILED
    assert image(releases, name) == "rollcheck-demo:v2"
