"""What a notification says, rendered from the run record for each receiver: Slack, WeCom markdown, JSON.

Every message carries the same facts: service, namespace, from → to version, what was done, the reason with
the observed values and thresholds, whether health recovered, the pipeline, the commit, and the CI job link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..record import SCHEMA_VERSION
from ..record import CheckOutcome
from ..record import CheckResult
from ..record import RollbackAction
from ..record import RunRecord

__all__ = ["Facts", "facts", "slack_payload", "summary", "wecom_payload"]

_DONE = {
    RollbackAction.ROLLED_BACK: "rolled back",
    RollbackAction.FAILED: "rollback FAILED",
    RollbackAction.SKIPPED: "rollback skipped",
    RollbackAction.DRY_RUN: "rollback dry run, nothing changed",
    RollbackAction.DISABLED: "rollback disabled, nothing changed",
    RollbackAction.NOT_NEEDED: "nothing to roll back",
    RollbackAction.FROZEN: "rollback frozen, left as it is",
}
_BAD = {CheckOutcome.FAILED, CheckOutcome.INCONCLUSIVE, CheckOutcome.ERROR}
_MAX_EVIDENCE = 5
# Receivers' own limits: Slack's section text, WeCom's markdown content (in bytes).
_SLACK_SECTION_CHARS = 3000
_WECOM_CONTENT_BYTES = 4096


@dataclass(frozen=True, kw_only=True)
class Facts:
    """The facts every message states, as plain text."""

    headline: str
    """One line: verdict, service, what was done, from → to."""
    service: str
    """The target, `deployment/shop`."""
    namespace: str
    """Its namespace."""
    change: str
    """`v2 → v1`, or the release's version alone when nothing changed."""
    done: str
    """What rollcheck did: `rolled back`, `rollback FAILED` …"""
    reason: str
    """Why: the verdict's reason, then the rollback's error if it has one."""
    evidence: tuple[str, ...]
    """One line per failed or inconclusive gating check: its message and measured value against threshold."""
    recovered: str
    """`yes`, `no`, or `not checked`."""
    pipeline: str
    """The CI pipeline id, or `-`."""
    commit: str
    """The commit, or `-`."""
    job_url: str | None
    """The CI job's page, when known."""


def facts(record: RunRecord) -> Facts:
    rollback = record.rollback
    source = rollback.from_version or record.release.version or _revision(rollback.from_revision)
    target = rollback.to_version or _revision(rollback.to_revision)
    change = f"{source or '?'} → {target}" if target else (source or "?")
    done = _DONE.get(rollback.action, rollback.action.value.replace("_", " "))
    reason = record.reason + (f"; rollback error: {rollback.error}" if rollback.error else "")
    recovered = {True: "yes", False: "no", None: "not checked"}[rollback.recovered]
    service = record.target or "(no target)"
    return Facts(
        headline=f"rollcheck {record.verdict.value.upper()}: {service} in {record.namespace}: {done} ({change})",
        service=service,
        namespace=record.namespace,
        change=change,
        done=done,
        reason=reason,
        evidence=tuple(_evidence(check) for check in _bad_checks(record)),
        recovered=recovered,
        pipeline=record.context.pipeline_id or "-",
        commit=record.context.commit or "-",
        job_url=record.context.job_url,
    )


def _revision(number: int | None) -> str | None:
    return f"revision {number}" if number is not None else None


def _bad_checks(record: RunRecord) -> list[CheckResult]:
    return [check for check in record.checks if check.gating and check.outcome in _BAD][:_MAX_EVIDENCE]


def _evidence(check: CheckResult) -> str:
    name = check.id.rsplit("::", 1)[-1]
    measured = [
        f"observed {m.value:g} vs threshold {m.threshold:g}" + (f" over {m.window}" if m.window else "")
        for m in check.measurements
        if m.value is not None and m.threshold is not None
    ]
    return f"{name} {check.outcome.value}: {check.message}" + (f" ({'; '.join(measured)})" if measured else "")


def summary(record: RunRecord) -> dict[str, Any]:
    """The generic webhook's JSON: the report without passing checks, timings or notifications, plus the
    headline. Its fields have the report schema's shapes."""
    return {
        "schema_version": SCHEMA_VERSION,
        "summary": facts(record).headline,
        "verdict": record.verdict.value,
        "reason": record.reason,
        "exit_code": record.exit_code,
        "target": record.target,
        "namespace": record.namespace,
        "release": record.release.to_dict(),
        "rollback": record.rollback.to_dict(),
        "failed_checks": [check.to_dict() for check in _bad_checks(record)],
        "context": record.context.to_dict(),
    }


def _slack_escape(text: str) -> str:
    # Slack reads &, < and > as markup in mrkdwn text; everything else is literal.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(record: RunRecord) -> dict[str, Any]:
    """An incoming-webhook message: `text` (the notification and fallback) and Block Kit blocks."""
    f = facts(record)
    e = _slack_escape
    lines = [
        f"*{e(f.headline)}*",
        f"*Service:* {e(f.service)}   *Namespace:* {e(f.namespace)}   *Version:* {e(f.change)}",
        f"*Health recovered:* {f.recovered}",
        f"*Reason:* {e(f.reason)}",
        *(f"• {e(line)}" for line in f.evidence),
    ]
    section = "\n".join(lines)
    if len(section) > _SLACK_SECTION_CHARS:
        section = section[: _SLACK_SECTION_CHARS - 1] + "…"
    context = f"pipeline {e(f.pipeline)} · commit {e(f.commit)}"
    if f.job_url:
        context += f" · <{e(f.job_url)}|CI job>"
    return {
        "text": f.headline,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": section}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    }


def wecom_payload(record: RunRecord) -> dict[str, Any]:
    """A WeCom group robot markdown message (`msgtype: markdown`), cut to the robot's 4096 bytes."""
    f = facts(record)
    colour = "info" if record.rollback.action is RollbackAction.ROLLED_BACK and f.recovered == "yes" else "warning"
    head = "\n".join(
        [
            f'**rollcheck {record.verdict.value.upper()}**: <font color="{colour}">{f.done}</font>',
            f"> service: {f.service}",
            f"> namespace: {f.namespace}",
            f"> version: {f.change}",
            f"> health recovered: {f.recovered}",
            f"> reason: {f.reason}",
            *(f"> - {line}" for line in f.evidence),
        ]
    )
    tail = f"\n> pipeline: {f.pipeline}, commit: {f.commit}" + (f"\n[CI job]({f.job_url})" if f.job_url else "")
    # A long reason is what gets cut, never the pipeline and the job link after it.
    room = _WECOM_CONTENT_BYTES - len(tail.encode("utf-8"))
    if len(head.encode("utf-8")) > room:
        head = head.encode("utf-8")[: room - 3].decode("utf-8", "ignore") + "…"
    content = head + tail
    return {"msgtype": "markdown", "markdown": {"content": content}}
