"""StatefulSets and DaemonSets of the demo service on the local environment, for the tests of their rollback.

Waits go through the real `kubectl rollout status`, so they never depend on the code under test.
"""

from __future__ import annotations

from typing import Any

from localenv_support import PORT_ANNOTATION
from localenv_support import LocalEnv
from rollcheck.kube import Kube
from rollcheck.target import TargetKind
from rollcheck.target import TargetRef

KINDS = (TargetKind.STATEFULSET, TargetKind.DAEMONSET)
_API_KIND = {TargetKind.STATEFULSET: "StatefulSet", TargetKind.DAEMONSET: "DaemonSet"}


def demo_workload(
    kind: TargetKind,
    name: str,
    version: str,
    *,
    env: dict[str, str] | None = None,
    port: int | None = None,
    replicas: int = 2,
) -> dict[str, Any]:
    """A StatefulSet (`replicas` pods, OrderedReady) or DaemonSet (a pod on the one node) running the demo
    service at `version`, with the API server's defaults for everything else."""
    metadata: dict[str, Any] = {"name": name, "labels": {"app": name}, "annotations": {}}
    if port is not None:
        metadata["annotations"][PORT_ANNOTATION] = str(port)
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container(version, env)]}},
    }
    if kind is TargetKind.STATEFULSET:
        spec |= {"replicas": replicas, "serviceName": name}
    return {"apiVersion": "apps/v1", "kind": _API_KIND[kind], "metadata": metadata, "spec": spec}


def container(version: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": "app",
        "image": f"rollcheck-demo:{version}",
        "env": [{"name": key, "value": value} for key, value in (env or {}).items()],
    }


class Workloads:
    """Creates and updates demo StatefulSets and DaemonSets in one namespace."""

    def __init__(self, kube: Kube, namespace: str, localenv: LocalEnv) -> None:
        self.kube = kube
        self.namespace = namespace
        self.localenv = localenv

    def create(self, kind: TargetKind, name: str, version: str, **kwargs: Any) -> TargetRef:
        self.kube.create_raw(kind.value, self.namespace, demo_workload(kind, name, version, **kwargs))
        return TargetRef(kind, name)

    def set_release(self, target: TargetRef, version: str, env: dict[str, str] | None = None) -> None:
        """A new pod template, like `kubectl set image` (a strategic merge patch on the container by name)."""
        patch = {"spec": {"template": {"spec": {"containers": [container(version, env)]}}}}
        self.kube.patch_raw(
            target.kind.value, target.name, self.namespace, patch, "application/strategic-merge-patch+json"
        )

    def deploy(self, target: TargetRef, *versions: str, **kwargs: Any) -> None:
        """Create the workload at the first version, then roll out each next one, waiting for every rollout."""
        self.create(target.kind, target.name, versions[0], **kwargs)
        self.wait(target)
        for version in versions[1:]:
            self.set_release(target, version)
            self.wait(target)

    def wait(self, target: TargetRef, timeout: int = 90) -> None:
        """Until kubectl's own `rollout status` says the rollout is complete."""
        self.kubectl("rollout", "status", str(target), f"--timeout={timeout}s")

    def kubectl(self, *args: str, check: bool = True) -> Any:
        return self.localenv.run_kubectl(*args, "-n", self.namespace, check=check)

    def get(self, target: TargetRef) -> dict[str, Any]:
        return self.kube.get_raw(target.kind.value, target.name, self.namespace)

    def image(self, target: TargetRef) -> str:
        return str(self.get(target)["spec"]["template"]["spec"]["containers"][0]["image"])

    def revisions(self, target: TargetRef) -> dict[str, int]:
        """uid → revision of the ControllerRevisions the workload owns."""
        uid = self.get(target)["metadata"]["uid"]
        return {
            revision["metadata"]["uid"]: int(revision["revision"])
            for revision in self.kube.list_raw("controllerrevision", self.namespace, f"app={target.name}")
            if any(ref.get("uid") == uid for ref in revision["metadata"].get("ownerReferences") or [])
        }
