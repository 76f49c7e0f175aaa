"""What rollcheck adds to kubectl's StatefulSet and DaemonSet undo, on the real control plane: the verified-release
guard, the resourceVersion precondition against concurrent writes, lost answers, server-side dry runs, and the
StatefulSet stuck at a crash-looping pod."""

from __future__ import annotations

from typing import Any

import pytest

from localenv_support import LocalEnv
from revisioned_workloads import KINDS
from revisioned_workloads import Workloads
from rollcheck import Conflict
from rollcheck.kube import MERGE_PATCH
from rollcheck.kube import Kube
from rollcheck.kube import read_release
from rollcheck.rollback import ROLLBACK_REASON
from rollcheck.rollback import RollbackPlan
from rollcheck.rollback import engine_for
from rollcheck.target import TargetKind
from rollcheck.target import TargetRef


@pytest.fixture
def workloads(rollcheck_kube: Kube, namespace: str, localenv: LocalEnv) -> Workloads:
    return Workloads(rollcheck_kube, namespace, localenv)


def two_revisions(workloads: Workloads, kind: TargetKind, request: pytest.FixtureRequest) -> TargetRef:
    name = request.node.originalname.removeprefix("test_").replace("_", "-")[:24] + f"-{kind.value[:3]}"
    target = TargetRef(kind, name)
    workloads.deploy(target, "v1", "v2", replicas=1)
    return target


def plan_for(workloads: Workloads, target: TargetRef) -> RollbackPlan:
    verified = read_release(workloads.kube, target, workloads.namespace)
    return engine_for(target.kind, workloads.kube).plan(target, workloads.namespace, verified, reason="p99 > 0.5s")


@pytest.mark.parametrize("kind", KINDS)
def test_a_deploy_after_the_verified_release_is_never_rolled_back(
    kind: TargetKind, workloads: Workloads, request: pytest.FixtureRequest
) -> None:
    target = two_revisions(workloads, kind, request)
    verified = read_release(workloads.kube, target, workloads.namespace)
    workloads.set_release(target, "v3")  # someone deployed after the checks started
    workloads.wait(target)
    engine = engine_for(kind, workloads.kube)

    plan = engine.plan(target, workloads.namespace, verified)
    applied = engine.apply(plan, dry_run=False)

    assert verified.revision == 2
    assert plan.skip_reason is not None
    assert "is at revision 3, not the verified revision 2: something was deployed after" in plan.skip_reason
    assert applied.skip_reason == plan.skip_reason
    assert applied.patch == ()
    assert workloads.image(target) == "rollcheck-demo:v3"


@pytest.mark.parametrize("kind", KINDS)
def test_a_scale_or_label_after_the_verified_release_is_not_a_deploy(
    kind: TargetKind, workloads: Workloads, request: pytest.FixtureRequest
) -> None:
    target = two_revisions(workloads, kind, request)
    verified = read_release(workloads.kube, target, workloads.namespace)
    change = {"spec": {"replicas": 2}} if kind is TargetKind.STATEFULSET else {"metadata": {"labels": {"x": "y"}}}
    workloads.kube.patch_raw(kind.value, target.name, workloads.namespace, change, "application/merge-patch+json")

    plan = engine_for(kind, workloads.kube).plan(target, workloads.namespace, verified)

    assert plan.skip_reason is None
    assert (plan.from_revision, plan.to_revision) == (2, 1)


@pytest.mark.parametrize("kind", KINDS)
def test_a_deploy_between_plan_and_apply_is_never_overwritten(
    kind: TargetKind, workloads: Workloads, request: pytest.FixtureRequest
) -> None:
    target = two_revisions(workloads, kind, request)
    plan = plan_for(workloads, target)

    workloads.set_release(target, "v3")
    applied = engine_for(kind, workloads.kube).apply(plan, dry_run=False)

    assert plan.skip_reason is None
    assert applied.skip_reason is not None
    assert "got a new pod template after the rollback was planned" in applied.skip_reason
    after = workloads.get(target)
    assert after["spec"]["template"]["spec"]["containers"][0]["image"] == "rollcheck-demo:v3"
    assert ROLLBACK_REASON not in (after["metadata"].get("annotations") or {})


@pytest.mark.parametrize("kind", KINDS)
def test_an_unrelated_write_after_the_plan_does_not_stop_the_rollback(
    kind: TargetKind, workloads: Workloads, request: pytest.FixtureRequest
) -> None:
    target = two_revisions(workloads, kind, request)
    plan = plan_for(workloads, target)

    touch = {"metadata": {"labels": {"touched": "yes"}}}
    workloads.kube.patch_raw(kind.value, target.name, workloads.namespace, touch, "application/merge-patch+json")
    applied = engine_for(kind, workloads.kube).apply(plan, dry_run=False)

    assert applied.skip_reason is None
    after = workloads.get(target)
    assert after["spec"]["template"]["spec"]["containers"][0]["image"] == "rollcheck-demo:v1"
    assert after["metadata"]["labels"]["touched"] == "yes", "the other write is kept, not overwritten"
    assert after["metadata"]["annotations"][ROLLBACK_REASON] == "p99 > 0.5s"


@pytest.mark.parametrize("kind", KINDS)
def test_writes_racing_every_patch_end_as_conflict(
    kind: TargetKind, workloads: Workloads, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real write lands between each read and its PATCH, so every PATCH fails its resourceVersion for real.
    target = two_revisions(workloads, kind, request)
    plan = plan_for(workloads, target)
    kube = workloads.kube
    send = kube.patch_raw
    writes = iter(range(100))

    def write_then_patch(*args: Any, **kwargs: Any) -> dict[str, Any]:
        label = {"metadata": {"labels": {"write": str(next(writes))}}}
        send(kind.value, target.name, workloads.namespace, label, "application/merge-patch+json")
        return send(*args, **kwargs)

    monkeypatch.setattr(kube, "patch_raw", write_then_patch)
    with pytest.raises(Conflict) as conflict:
        engine_for(kind, kube).apply(plan, dry_run=False)
    monkeypatch.undo()

    assert conflict.value.status == 409
    assert str(conflict.value).startswith(f"patch {kind.value} {workloads.namespace}/{target.name}: 409 ")
    assert next(writes) == 3, "three attempts, each beaten by a write"
    assert workloads.image(target) == "rollcheck-demo:v2"


@pytest.mark.parametrize("kind", KINDS)
def test_a_retried_patch_whose_first_attempt_landed_counts_as_applied(
    kind: TargetKind, workloads: Workloads, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Faked at rollcheck's own seam: the first PATCH is applied but its answer is lost (a client replay), which
    # the real API server cannot be made to do on demand. The replay then fails its own resourceVersion.
    target = two_revisions(workloads, kind, request)
    plan = plan_for(workloads, target)
    kube = workloads.kube
    send = kube.patch_raw

    def lost_answer_then_retry(*args: Any, **kwargs: Any) -> dict[str, Any]:
        send(*args, **kwargs)
        return send(*args, **kwargs)

    monkeypatch.setattr(kube, "patch_raw", lost_answer_then_retry)
    applied = engine_for(kind, kube).apply(plan, dry_run=False)
    monkeypatch.undo()

    assert applied.skip_reason is None
    assert applied.images_after == ("rollcheck-demo:v1",)
    assert workloads.image(target) == "rollcheck-demo:v1"


@pytest.mark.parametrize("kind", KINDS)
def test_dry_run_is_server_side_and_changes_nothing(
    kind: TargetKind, workloads: Workloads, request: pytest.FixtureRequest
) -> None:
    target = two_revisions(workloads, kind, request)
    plan = plan_for(workloads, target)
    generation = workloads.get(target)["metadata"]["generation"]

    applied = engine_for(kind, workloads.kube).apply(plan, dry_run=True)

    stored = workloads.get(target)
    assert applied.dry_run
    assert applied.images_after == plan.to_images == ("rollcheck-demo:v1",)
    assert applied.result is not None
    assert applied.result["metadata"]["annotations"][ROLLBACK_REASON] == "p99 > 0.5s"
    assert stored["spec"]["template"]["spec"]["containers"][0]["image"] == "rollcheck-demo:v2"
    assert stored["metadata"]["generation"] == generation
    assert ROLLBACK_REASON not in (stored["metadata"].get("annotations") or {})


@pytest.mark.parametrize("kind", KINDS)
def test_an_unsafe_annotation_added_after_the_release_was_read_freezes_the_rollback(
    kind: TargetKind, workloads: Workloads, request: pytest.FixtureRequest
) -> None:
    target = two_revisions(workloads, kind, request)
    verified = read_release(workloads.kube, target, workloads.namespace)
    assert verified.rollback_unsafe is None
    # A migration job marks the release during the checks, after the run read it.
    annotations = {"rollcheck.dev/rollback": "unsafe", "rollcheck.dev/rollback-unsafe-reason": "migration 0042"}
    patch = {"metadata": {"annotations": annotations}}
    workloads.kube.patch_raw(kind.value, target.name, workloads.namespace, patch, MERGE_PATCH)
    engine = engine_for(kind, workloads.kube)

    plan = engine.plan(target, workloads.namespace, verified, reason="p99 > 0.5s")
    applied = engine.apply(plan, dry_run=False)

    unsafe = (
        f"{target} in {workloads.namespace} declares rolling back unsafe (rollcheck.dev/rollback=unsafe; "
        "rollcheck.dev/rollback-unsafe-reason: migration 0042)"
    )
    assert (plan.frozen_reason, plan.skip_reason) == (unsafe, f"frozen, not rolled back: {unsafe}")
    assert (applied.frozen_reason, applied.skip_reason, applied.patch) == (unsafe, plan.skip_reason, ())
    assert workloads.image(target) == "rollcheck-demo:v2"
    assert ROLLBACK_REASON not in (workloads.get(target)["metadata"].get("annotations") or {})
