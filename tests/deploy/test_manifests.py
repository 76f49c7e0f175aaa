"""Every manifest under deploy/ is accepted by the real API server, and the RBAC grants only what the README
justifies."""

from __future__ import annotations

import re
import uuid

import yaml
from deploy_manifests import DEPLOY
from deploy_manifests import kubectl
from deploy_manifests import load

from localenv_support import REPO_ROOT
from localenv_support import LocalEnv

#: (API group, resource, verb): every right rollcheck needs, and all it gets.
NEEDED = {
    *(("apps", r, v) for r in ("deployments", "statefulsets", "daemonsets") for v in ("get", "list", "watch", "patch")),
    ("apps", "replicasets", "list"),
    ("apps", "controllerrevisions", "list"),
    ("", "pods", "list"),
    ("", "events", "create"),
    ("authorization.k8s.io", "selfsubjectaccessreviews", "create"),
}


def _granted() -> set[tuple[str, str, str]]:
    granted = set()
    for doc in yaml.safe_load_all((DEPLOY / "rbac.yaml").read_text(encoding="utf-8")):
        if doc and doc["kind"] in {"Role", "ClusterRole"}:
            for rule in doc["rules"]:
                assert set(rule) == {"apiGroups", "resources", "verbs"}, f"unexpected rule fields: {rule}"
                granted |= {(g, r, v) for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    return granted


def test_every_manifest_is_accepted_by_the_api_server(localenv: LocalEnv, namespace: str) -> None:
    files = sorted(DEPLOY.glob("*.yaml"))
    assert {path.name for path in files} == {"rbac.yaml", "serve.yaml", "run-job.yaml"}
    for path in files:
        objects = load(path, namespace, f"-{uuid.uuid4().hex[:6]}")
        # create, not apply: the Job has a generateName, so that every pipeline run gets its own.
        code, output = kubectl(
            localenv, "create", "--dry-run=server", "-o", "name", "-f", "-", stdin=yaml.safe_dump_all(objects)
        )
        assert code == 0, f"{path.name}: {output}"
        assert len(output.split()) == len(objects), output


def test_rbac_grants_exactly_the_needed_verbs_and_nothing_dangerous() -> None:
    granted = _granted()
    assert granted == NEEDED
    verbs = {verb for _, _, verb in granted}
    assert not verbs & {"*", "delete", "deletecollection", "update", "escalate", "bind", "impersonate"}
    assert {resource for _, resource, verb in granted if verb == "create"} == {"events", "selfsubjectaccessreviews"}
    assert not {resource for _, resource, _ in granted} & {"secrets", "*", "configmaps"}


def test_readme_justifies_every_rbac_rule() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Running in the cluster", 1)[1].split("\n## ", 1)[0]
    documented = set()
    for verb, resources, why in re.findall(r"^\| `([a-z]+)` \| (.+?) \| (.+) \|$", section, flags=re.MULTILINE):
        assert len(why) > 20, f"{verb} {resources}: no reason given"
        for name in re.findall(r"`([a-z.0-9]+)`", resources):
            resource, _, group = name.partition(".")
            documented.add((group, resource, verb))
    assert documented == _granted()
