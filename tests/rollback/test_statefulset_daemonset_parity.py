"""rollcheck's StatefulSet and DaemonSet rollback against `kubectl rollout undo`, on twin workloads with identical
histories.

After rollcheck rolls back one twin and kubectl the other, both must hold the same pod template, have restored
the same ControllerRevision (re-used and renumbered by the controller, never a new one), and refuse or skip
alike.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from localenv_support import LocalEnv
from revisioned_workloads import KINDS
from revisioned_workloads import Workloads
from rollcheck import RollbackImpossible
from rollcheck.kube import STRATEGIC_MERGE_PATCH
from rollcheck.kube import Kube
from rollcheck.kube import owned_controller_revisions
from rollcheck.kube import read_release
from rollcheck.rollback import ROLLED_BACK_FROM
from rollcheck.rollback import RollbackPlan
from rollcheck.rollback import already_at
from rollcheck.rollback import engine_for
from rollcheck.rollback import select_controller_revision
from rollcheck.target import TargetKind
from rollcheck.target import TargetRef


class Twins:
    """`<name>-rc` (rolled back by rollcheck) and `<name>-kc` (by kubectl), built alike."""

    def __init__(self, kind: TargetKind, name: str, workloads: Workloads) -> None:
        self.ours, self.theirs = TargetRef(kind, f"{name}-rc"), TargetRef(kind, f"{name}-kc")
        self.kind = kind
        self.workloads = workloads

    def build(self, *versions: str) -> None:
        for target in (self.ours, self.theirs):
            self.workloads.create(self.kind, target.name, versions[0], replicas=2)
        for number, version in enumerate(versions):
            for target in (self.ours, self.theirs):
                if number:
                    self.workloads.set_release(target, version)
            for target in (self.ours, self.theirs):
                self.workloads.wait(target)

    def rollcheck_undo(self) -> RollbackPlan:
        kube, namespace = self.workloads.kube, self.workloads.namespace
        engine = engine_for(self.kind, kube)
        plan = engine.plan(self.ours, namespace, read_release(kube, self.ours, namespace), reason="parity")
        applied = engine.apply(plan, dry_run=False)
        assert applied.skip_reason is None
        assert engine.wait(plan, timeout=90).done
        return plan

    def kubectl_undo(self, *args: str) -> Any:
        result = self.workloads.kubectl("rollout", "undo", str(self.theirs), *args, check=False)
        self.workloads.wait(self.theirs)
        return result

    def template(self, target: TargetRef) -> dict[str, Any]:
        """The pod template with the twin's own label value neutralised."""
        template = copy.deepcopy(self.workloads.get(target)["spec"]["template"])
        template["metadata"]["labels"]["app"] = "twin"
        return template

    def history(self, target: TargetRef) -> list[int]:
        return sorted(self.workloads.revisions(target).values())


@pytest.fixture
def workloads(rollcheck_kube: Kube, namespace: str, localenv: LocalEnv) -> Workloads:
    return Workloads(rollcheck_kube, namespace, localenv)


def twins_for(request: pytest.FixtureRequest, kind: TargetKind, workloads: Workloads) -> Twins:
    stem = request.node.originalname.removeprefix("test_").replace("_", "-")[:24]
    return Twins(kind, f"{stem}-{kind.value[:3]}", workloads)


@pytest.mark.parametrize("kind", KINDS)
def test_rollback_matches_kubectl_rollout_undo(
    kind: TargetKind, request: pytest.FixtureRequest, workloads: Workloads
) -> None:
    twins = twins_for(request, kind, workloads)
    twins.build("v1", "v2", "v3")
    uids_before = (workloads.revisions(twins.ours), workloads.revisions(twins.theirs))

    plan = twins.rollcheck_undo()
    result = twins.kubectl_undo()

    assert result.stdout.strip() == f"{kind.value}.apps/{twins.theirs.name} rolled back"
    assert (plan.from_revision, plan.to_revision, plan.from_version, plan.to_version) == (3, 2, "v3", "v2")
    assert plan.patch_type == STRATEGIC_MERGE_PATCH
    [body] = plan.patch
    assert body["spec"]["template"]["$patch"] == "replace", "the revision's data, as kubectl sends it"
    assert twins.template(twins.ours) == twins.template(twins.theirs)
    assert twins.template(twins.ours)["spec"]["containers"][0]["image"] == "rollcheck-demo:v2"
    assert workloads.get(twins.ours)["metadata"]["annotations"][ROLLED_BACK_FROM] == "revision 3 (v3)"
    # The restored revision was re-used and renumbered alike: same ControllerRevisions, revision 2 became 4.
    for target, before in zip((twins.ours, twins.theirs), uids_before, strict=True):
        after = workloads.revisions(target)
        assert after.keys() == before.keys()
        assert sorted(after.values()) == [1, 3, 4]
        assert [uid for uid, rev in before.items() if rev == 2] == [uid for uid, rev in after.items() if rev == 4]
    assert read_release(workloads.kube, twins.ours, workloads.namespace).revision == 4


@pytest.mark.parametrize("kind", KINDS)
def test_rolling_back_twice_toggles_like_kubectl(
    kind: TargetKind, request: pytest.FixtureRequest, workloads: Workloads
) -> None:
    twins = twins_for(request, kind, workloads)
    twins.build("v1", "v2")

    first = twins.rollcheck_undo()
    twins.kubectl_undo()
    second = twins.rollcheck_undo()
    twins.kubectl_undo()

    assert (first.to_version, second.to_version) == ("v1", "v2")
    assert (second.from_revision, second.to_revision) == (3, 2)
    assert twins.template(twins.ours) == twins.template(twins.theirs)
    assert twins.history(twins.ours) == twins.history(twins.theirs) == [3, 4]


@pytest.mark.parametrize("kind", KINDS)
def test_without_history_both_refuse(kind: TargetKind, request: pytest.FixtureRequest, workloads: Workloads) -> None:
    twins = twins_for(request, kind, workloads)
    twins.build("v1")
    verified = read_release(workloads.kube, twins.ours, workloads.namespace)

    kubectl = workloads.kubectl("rollout", "undo", str(twins.theirs), check=False)
    with pytest.raises(RollbackImpossible) as refused:
        engine_for(kind, workloads.kube).plan(twins.ours, workloads.namespace, verified)

    assert kubectl.returncode != 0
    assert kubectl.stderr.strip().endswith(f"error: {refused.value}")
    assert str(refused.value) == "no last revision to roll back to"


@pytest.mark.parametrize("kind", KINDS)
def test_the_current_revision_is_skipped_like_kubectl(
    kind: TargetKind, request: pytest.FixtureRequest, workloads: Workloads
) -> None:
    # kubectl compares the revision's bytes with the live template re-encoded; rollcheck compares them
    # semantically. On the controller's own revisions both must find the running one, and only that one.
    twins = twins_for(request, kind, workloads)
    twins.build("v1", "v2")
    ours = workloads.get(twins.ours)
    history = owned_controller_revisions(workloads.kube, ours)

    kubectl = workloads.kubectl("rollout", "undo", str(twins.theirs), "--to-revision=2")
    missing = workloads.kubectl("rollout", "undo", str(twins.theirs), "--to-revision=7", check=False)

    assert kubectl.stdout.strip() == (
        f"{kind.value}.apps/{twins.theirs.name} skipped rollback (current template already matches revision 2)"
    )
    assert already_at(ours, select_controller_revision(history, to_revision=2))
    assert not already_at(ours, select_controller_revision(history, to_revision=1))
    assert not already_at(ours, select_controller_revision(history))
    with pytest.raises(RollbackImpossible) as refused:
        select_controller_revision(history, to_revision=7)
    assert missing.stderr.strip().endswith(f"error: {refused.value}")
    assert twins.history(twins.theirs) == [1, 2], "kubectl changed nothing"
