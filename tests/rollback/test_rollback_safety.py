"""What rollcheck adds to kubectl's undo, on the real control plane: the verified-release guard, the
resourceVersion test against concurrent writes, server-side dry runs, and RBAC denials that say what was denied."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from localenv_support import REPO_ROOT
from localenv_support import Releases
from rollcheck import Conflict
from rollcheck import Forbidden
from rollcheck.kube import Kube
from rollcheck.kube import connect
from rollcheck.kube import read_release
from rollcheck.rollback import ROLLBACK_REASON
from rollcheck.rollback import RollbackPlan
from rollcheck.rollback import engine_for
from rollcheck.target import TargetKind
from rollcheck.target import TargetRef


def image(kube: Kube, namespace: str, name: str) -> str:
    return str(kube.get_raw("deployment", name, namespace)["spec"]["template"]["spec"]["containers"][0]["image"])


def two_revisions(releases: Releases, name: str) -> TargetRef:
    releases.deploy(name, "v1", replicas=1)
    releases.wait_rollout(name)
    releases.set_release(name, "v2")
    releases.wait_rollout(name)
    return TargetRef(TargetKind.DEPLOYMENT, name)


def plan_for(kube: Kube, releases: Releases, target: TargetRef) -> RollbackPlan:
    verified = read_release(kube, target, releases.namespace)
    return engine_for(TargetKind.DEPLOYMENT, kube).plan(target, releases.namespace, verified, reason="p99 1.2s > 0.5s")


def test_a_deploy_after_the_verified_release_is_never_rolled_back(releases: Releases, rollcheck_kube: Kube) -> None:
    target = two_revisions(releases, "guarded")
    verified = read_release(rollcheck_kube, target, releases.namespace)
    releases.set_release("guarded", "v3")  # someone deployed after the checks started
    releases.wait_rollout("guarded")
    engine = engine_for(TargetKind.DEPLOYMENT, rollcheck_kube)

    plan = engine.plan(target, releases.namespace, verified)
    applied = engine.apply(plan, dry_run=False)

    assert plan.skip_reason is not None
    assert "is at revision 3, not the verified revision 2: something was deployed after" in plan.skip_reason
    assert applied.skip_reason == plan.skip_reason
    assert applied.patch == ()
    assert image(rollcheck_kube, releases.namespace, "guarded") == "rollcheck-demo:v3"


def test_apply_sends_the_plans_guarded_patch_without_reading_again(
    releases: Releases, rollcheck_kube: Kube, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = two_revisions(releases, "read-once")
    plan = plan_for(rollcheck_kube, releases, target)
    reads: list[tuple[Any, ...]] = []
    read = rollcheck_kube.get_raw

    def counted_read(*args: Any) -> dict[str, Any]:
        reads.append(args)
        return read(*args)

    monkeypatch.setattr(rollcheck_kube, "get_raw", counted_read)
    applied = engine_for(TargetKind.DEPLOYMENT, rollcheck_kube).apply(plan, dry_run=False)

    assert reads == [], "the plan's read is the one the patch's resourceVersion test guards"
    assert applied.patch[: len(plan.patch)] == plan.patch
    assert (applied.patch[0]["op"], applied.patch[0]["path"]) == ("test", "/metadata/resourceVersion")
    assert image(rollcheck_kube, releases.namespace, "read-once") == "rollcheck-demo:v1"


def test_a_deploy_between_plan_and_apply_is_never_overwritten(releases: Releases, rollcheck_kube: Kube) -> None:
    target = two_revisions(releases, "raced")
    plan = plan_for(rollcheck_kube, releases, target)
    before = rollcheck_kube.get_raw("deployment", "raced", releases.namespace)["metadata"]["annotations"]

    releases.set_release("raced", "v3")
    applied = engine_for(TargetKind.DEPLOYMENT, rollcheck_kube).apply(plan, dry_run=False)

    assert plan.skip_reason is None
    assert applied.skip_reason is not None
    assert "after the rollback was planned" in applied.skip_reason
    after = rollcheck_kube.get_raw("deployment", "raced", releases.namespace)
    assert after["spec"]["template"]["spec"]["containers"][0]["image"] == "rollcheck-demo:v3"
    assert ROLLBACK_REASON not in after["metadata"]["annotations"]
    assert {k: v for k, v in after["metadata"]["annotations"].items() if k != "deployment.kubernetes.io/revision"} == {
        k: v for k, v in before.items() if k != "deployment.kubernetes.io/revision"
    }


def test_an_unrelated_write_after_the_plan_does_not_stop_the_rollback(releases: Releases, rollcheck_kube: Kube) -> None:
    target = two_revisions(releases, "contended")
    plan = plan_for(rollcheck_kube, releases, target)

    releases.apps.patch_namespaced_deployment(
        "contended", releases.namespace, {"metadata": {"labels": {"touched": "yes"}}}
    )
    applied = engine_for(TargetKind.DEPLOYMENT, rollcheck_kube).apply(plan, dry_run=False)

    assert applied.skip_reason is None
    assert image(rollcheck_kube, releases.namespace, "contended") == "rollcheck-demo:v1"
    labels = rollcheck_kube.get_raw("deployment", "contended", releases.namespace)["metadata"]["labels"]
    assert labels["touched"] == "yes", "the other write is kept, not overwritten"


def test_writes_racing_every_patch_end_as_conflict(
    releases: Releases, rollcheck_kube: Kube, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real write lands between each read and its PATCH, so every PATCH fails its resourceVersion test for real.
    target = two_revisions(releases, "raced-always")
    plan = plan_for(rollcheck_kube, releases, target)
    send = rollcheck_kube.patch_raw
    writes = iter(range(100))

    def write_then_patch(*args: Any, **kwargs: Any) -> dict[str, Any]:
        releases.apps.patch_namespaced_deployment(
            "raced-always", releases.namespace, {"metadata": {"labels": {"write": str(next(writes))}}}
        )
        return send(*args, **kwargs)

    monkeypatch.setattr(rollcheck_kube, "patch_raw", write_then_patch)
    with pytest.raises(Conflict) as conflict:
        engine_for(TargetKind.DEPLOYMENT, rollcheck_kube).apply(plan, dry_run=False)

    assert conflict.value.status == 422
    assert str(conflict.value).startswith(f"patch deployment {releases.namespace}/raced-always: 422 ")
    assert next(writes) == 3, "three attempts, each beaten by a write"
    assert image(rollcheck_kube, releases.namespace, "raced-always") == "rollcheck-demo:v2"


def test_a_retried_patch_whose_first_attempt_landed_counts_as_applied(
    releases: Releases, rollcheck_kube: Kube, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first PATCH is applied but its answer is lost; the retry then fails its own resourceVersion test.
    target = two_revisions(releases, "landed")
    plan = plan_for(rollcheck_kube, releases, target)
    send = rollcheck_kube.patch_raw

    def lost_answer_then_retry(*args: Any, **kwargs: Any) -> dict[str, Any]:
        send(*args, **kwargs)
        return send(*args, **kwargs)

    monkeypatch.setattr(rollcheck_kube, "patch_raw", lost_answer_then_retry)
    applied = engine_for(TargetKind.DEPLOYMENT, rollcheck_kube).apply(plan, dry_run=False)

    assert applied.skip_reason is None
    assert applied.images_after == ("rollcheck-demo:v1",)
    assert image(rollcheck_kube, releases.namespace, "landed") == "rollcheck-demo:v1"


def test_a_lost_answer_on_the_last_attempt_still_counts_as_applied(
    releases: Releases, rollcheck_kube: Kube, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Writes beat the first two PATCHes for real; the third lands but its answer is lost, and the replay fails
    # its own resourceVersion test. The rollback happened, and must be reported as such.
    target = two_revisions(releases, "lost-last")
    plan = plan_for(rollcheck_kube, releases, target)
    send = rollcheck_kube.patch_raw
    calls = iter(range(100))

    def race_twice_then_lose_the_answer(*args: Any, **kwargs: Any) -> dict[str, Any]:
        call = next(calls)
        if call < 2:
            releases.apps.patch_namespaced_deployment(
                "lost-last", releases.namespace, {"metadata": {"labels": {"write": str(call)}}}
            )
            return send(*args, **kwargs)
        send(*args, **kwargs)
        return send(*args, **kwargs)

    monkeypatch.setattr(rollcheck_kube, "patch_raw", race_twice_then_lose_the_answer)
    applied = engine_for(TargetKind.DEPLOYMENT, rollcheck_kube).apply(plan, dry_run=False)

    assert applied.skip_reason is None
    assert image(rollcheck_kube, releases.namespace, "lost-last") == "rollcheck-demo:v1"


def test_dry_run_is_server_side_and_changes_nothing(releases: Releases, rollcheck_kube: Kube) -> None:
    target = two_revisions(releases, "rehearsed")
    plan = plan_for(rollcheck_kube, releases, target)
    generation = rollcheck_kube.get_raw("deployment", "rehearsed", releases.namespace)["metadata"]["generation"]

    applied = engine_for(TargetKind.DEPLOYMENT, rollcheck_kube).apply(plan, dry_run=True)

    stored = rollcheck_kube.get_raw("deployment", "rehearsed", releases.namespace)
    assert applied.dry_run
    assert applied.images_after == plan.to_images == ("rollcheck-demo:v1",)
    assert applied.result is not None
    assert applied.result["metadata"]["annotations"][ROLLBACK_REASON] == "p99 1.2s > 0.5s"
    assert stored["spec"]["template"]["spec"]["containers"][0]["image"] == "rollcheck-demo:v2"
    assert stored["metadata"]["generation"] == generation
    assert ROLLBACK_REASON not in stored["metadata"]["annotations"]


def test_without_patch_rights_the_apply_is_forbidden(
    releases: Releases, rollcheck_kube: Kube, kube_api: client.ApiClient
) -> None:
    target = two_revisions(releases, "locked")
    verified = read_release(rollcheck_kube, target, releases.namespace)
    user = f"planner-{uuid.uuid4().hex[:6]}"
    rbac = client.RbacAuthorizationV1Api(kube_api)
    rbac.create_namespaced_role(
        releases.namespace,
        {
            "metadata": {"name": user},
            "rules": [{"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": ["get", "list"]}],
        },
    )
    rbac.create_namespaced_role_binding(
        releases.namespace,
        {
            "metadata": {"name": user},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": user},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        },
    )
    path = Path(
        subprocess.run(
            [str(REPO_ROOT / "scripts" / "localenv"), "identity", user], capture_output=True, text=True, check=True
        ).stdout.strip()
    )

    with connect(kubeconfig=path, context=None) as restricted:
        engine = engine_for(TargetKind.DEPLOYMENT, restricted)
        plan = engine.plan(target, releases.namespace, verified)
        with pytest.raises(Forbidden) as denied:
            engine.apply(plan, dry_run=False)

    message = str(denied.value)
    assert message.startswith(f"patch deployment {releases.namespace}/locked: 403 Forbidden: ")
    assert f'User "{user}" cannot patch resource "deployments" in API group "apps"' in message
    assert image(rollcheck_kube, releases.namespace, "locked") == "rollcheck-demo:v2"


UNSAFE = {
    "rollcheck.dev/rollback": "unsafe",
    "rollcheck.dev/rollback-unsafe-reason": "migration 0042 ran while the checks did",
}


def test_an_unsafe_annotation_added_after_the_release_was_read_freezes_the_rollback(
    releases: Releases, rollcheck_kube: Kube
) -> None:
    target = two_revisions(releases, "late-freeze")
    verified = read_release(rollcheck_kube, target, releases.namespace)
    assert verified.rollback_unsafe is None  # the run read a release that allowed rolling back
    # A migration job marks the release during the checks, after the run read it.
    releases.apps.patch_namespaced_deployment("late-freeze", releases.namespace, {"metadata": {"annotations": UNSAFE}})
    engine = engine_for(TargetKind.DEPLOYMENT, rollcheck_kube)

    plan = engine.plan(target, releases.namespace, verified, reason="p99 1.2s > 0.5s")
    applied = engine.apply(plan, dry_run=False)

    unsafe = (
        f"deployment/late-freeze in {releases.namespace} declares rolling back unsafe (rollcheck.dev/rollback=unsafe; "
        "rollcheck.dev/rollback-unsafe-reason: migration 0042 ran while the checks did)"
    )
    assert (plan.frozen_reason, plan.skip_reason) == (unsafe, f"frozen, not rolled back: {unsafe}")
    assert (applied.frozen_reason, applied.skip_reason, applied.patch) == (unsafe, plan.skip_reason, ())
    assert image(rollcheck_kube, releases.namespace, "late-freeze") == "rollcheck-demo:v2"
    assert (
        ROLLBACK_REASON
        not in rollcheck_kube.get_raw("deployment", "late-freeze", releases.namespace)["metadata"]["annotations"]
    )


def test_an_unsafe_annotation_added_between_plan_and_apply_freezes_the_rollback(
    releases: Releases, rollcheck_kube: Kube
) -> None:
    target = two_revisions(releases, "freeze-in-apply")
    plan = plan_for(rollcheck_kube, releases, target)
    releases.apps.patch_namespaced_deployment(
        "freeze-in-apply", releases.namespace, {"metadata": {"annotations": {"rollcheck.dev/rollback": "maybe"}}}
    )

    applied = engine_for(TargetKind.DEPLOYMENT, rollcheck_kube).apply(plan, dry_run=False)

    assert plan.skip_reason is None
    assert applied.frozen_reason is not None
    assert "'maybe', which is neither 'safe' nor 'unsafe'" in applied.frozen_reason
    assert applied.skip_reason == f"frozen, not rolled back: {applied.frozen_reason}"
    assert image(rollcheck_kube, releases.namespace, "freeze-in-apply") == "rollcheck-demo:v2"


def test_a_safe_annotation_does_not_freeze(releases: Releases, rollcheck_kube: Kube) -> None:
    target = two_revisions(releases, "declared-safe")
    releases.apps.patch_namespaced_deployment(
        "declared-safe", releases.namespace, {"metadata": {"annotations": {"rollcheck.dev/rollback": "safe"}}}
    )
    plan = plan_for(rollcheck_kube, releases, target)
    assert (plan.skip_reason, plan.frozen_reason, plan.to_version) == (None, None, "v1")
