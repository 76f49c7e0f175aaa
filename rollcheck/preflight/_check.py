"""Would a rollback be possible? Asked once, after the release is read and before any check runs."""

from __future__ import annotations

from kubernetes import client

from .._errors import RollcheckError
from ..helm import Helm
from ..kube import Kube
from ..record import PreflightProblem
from ..record import PreflightRecord
from ..target import Release
from ..target import TargetKind
from ..target import TargetRef
from ._kinds import HISTORY_READERS

__all__ = ["preflight"]

#: kind → (API group, resource) of the object its rollback patches.
_PATCHED: dict[TargetKind, tuple[str, str]] = {
    TargetKind.DEPLOYMENT: ("apps", "deployments"),
    TargetKind.STATEFULSET: ("apps", "statefulsets"),
    TargetKind.DAEMONSET: ("apps", "daemonsets"),
}


def preflight(kube: Kube, release: Release, *, required: bool, helm: Helm) -> PreflightRecord:
    """The rollback-readiness of the release's workload (`helm`: the CLI a Helm release's history is read
    with). Never raises for what the cluster answers: a question that could not be answered is a problem too,
    since the rollback would meet the same failure."""
    target, namespace = release.target, release.namespace
    problems = _history_problems(kube, helm, target, namespace)
    notes: list[str] = []
    patch = _patch_allowed(kube, target, namespace)
    if isinstance(patch, PreflightProblem):
        problems.append(patch)
    elif patch is not None:
        notes.append(patch)
    return PreflightRecord(checked=True, problems=tuple(problems), notes=tuple(notes), required=required)


def _history_problems(kube: Kube, helm: Helm, target: TargetRef, namespace: str) -> list[PreflightProblem]:
    """What the workload's own history says against a rollback."""
    try:
        history = HISTORY_READERS[target.kind](kube, helm, target, namespace)
    except RollcheckError as error:
        return [PreflightProblem(check="previous_revision", message=f"could not read its history: {error}")]
    problems = []
    if history.no_previous_reason is not None:
        message = f"no previous revision to roll back to ({history.no_previous_reason})"
        problems.append(PreflightProblem(check="previous_revision", message=message))
    if history.revision_history_limit == 0:
        message = (
            f"{target} has revisionHistoryLimit: 0, so the controller deletes every old revision and there is "
            "never anything to roll back to; set it to 1 or more"
        )
        problems.append(PreflightProblem(check="revision_history_limit", message=message))
    if history.paused_reason is not None:
        problems.append(PreflightProblem(check="paused", message=f"{target} is paused: {history.paused_reason}"))
    return problems


def _patch_allowed(kube: Kube, target: TargetRef, namespace: str) -> PreflightProblem | str | None:
    """A problem if this identity may not patch the target, a note if that was not asked, None if it may."""
    if target.kind is TargetKind.HELM:
        return (
            "a Helm rollback is `helm rollback`, not a patch of one workload, so the right to patch was not "
            "checked; helm needs its own rights, to read and write the release's Secrets (storage driver), "
            "which deploy/rbac.yaml does not grant"
        )
    group, plural = _PATCHED[target.kind]
    what = f'patch {plural}.{group} "{target.name}" in namespace "{namespace}"'
    attributes = client.V1ResourceAttributes(
        namespace=namespace, verb="patch", group=group, resource=plural, name=target.name
    )
    review = client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes))
    api = client.AuthorizationV1Api(kube.api)
    try:
        answer = kube.call(
            f"create selfsubjectaccessreview ({what})", lambda: api.create_self_subject_access_review(review)
        )
    except RollcheckError as error:
        message = f"could not ask whether this identity may {what}: {error}"
        return PreflightProblem(check="patch_allowed", message=message)
    status = answer.status
    if status is not None and status.allowed:
        return None
    why = "; ".join(text for text in (status.reason, status.evaluation_error) if text) if status else ""
    return PreflightProblem(
        check="patch_allowed",
        message=f"this identity may not {what} (SelfSubjectAccessReview: denied{f': {why}' if why else ''}), so "
        "the rollback would fail with 403 Forbidden; grant the patch verb (see deploy/rbac.yaml)",
    )
