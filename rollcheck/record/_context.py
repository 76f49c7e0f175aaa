"""Which CI run this is, read from the variables the common CI systems set."""

from __future__ import annotations

from collections.abc import Mapping

from ._model import CiContext

__all__ = ["ci_context"]


def ci_context(environ: Mapping[str, str]) -> CiContext:
    """GitHub Actions, GitLab CI, Jenkins, Buildkite, CircleCI; otherwise the generic ROLLCHECK_PIPELINE_ID,
    ROLLCHECK_COMMIT and ROLLCHECK_JOB_URL (which also override what a CI system sets)."""
    get = environ.get
    if get("GITHUB_ACTIONS") == "true":
        server = get("GITHUB_SERVER_URL", "https://github.com")
        url = f"{server}/{get('GITHUB_REPOSITORY', '')}/actions/runs/{get('GITHUB_RUN_ID', '')}"
        found = CiContext(ci="github-actions", pipeline_id=get("GITHUB_RUN_ID"), commit=get("GITHUB_SHA"), job_url=url)
    elif get("GITLAB_CI") == "true":
        found = CiContext(
            ci="gitlab-ci",
            pipeline_id=get("CI_PIPELINE_ID"),
            commit=get("CI_COMMIT_SHA"),
            job_url=get("CI_JOB_URL"),
        )
    elif get("JENKINS_URL"):
        found = CiContext(ci="jenkins", pipeline_id=get("BUILD_ID"), commit=get("GIT_COMMIT"), job_url=get("BUILD_URL"))
    elif get("BUILDKITE") == "true":
        found = CiContext(
            ci="buildkite",
            pipeline_id=get("BUILDKITE_BUILD_ID"),
            commit=get("BUILDKITE_COMMIT"),
            job_url=get("BUILDKITE_BUILD_URL"),
        )
    elif get("CIRCLECI") == "true":
        found = CiContext(
            ci="circleci",
            pipeline_id=get("CIRCLE_WORKFLOW_ID"),
            commit=get("CIRCLE_SHA1"),
            job_url=get("CIRCLE_BUILD_URL"),
        )
    else:
        found = CiContext(ci="ci" if get("CI") else None)
    return CiContext(
        ci=found.ci,
        pipeline_id=get("ROLLCHECK_PIPELINE_ID") or found.pipeline_id,
        commit=get("ROLLCHECK_COMMIT") or found.commit,
        job_url=get("ROLLCHECK_JOB_URL") or found.job_url,
    )
