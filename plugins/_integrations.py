"""pytest-html and Allure integrations, each registered only when that plugin is present and in use.

Both only render the run record: they compute nothing. Everything cluster- or user-provided is escaped.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from collections.abc import Generator
from pathlib import Path

import pytest

from rollcheck.record import RollbackAction
from rollcheck.record import RunRecord
from rollcheck.record import Severity

from ._markers import check_kind_or_default
from ._state import MEASUREMENTS_KEY

__all__ = ["AllureReport", "AllureSteps", "HtmlSummary", "html_summary"]


def html_summary(record: RunRecord) -> str:
    rollback = record.rollback
    rows = [
        ("Verdict", f"{record.verdict.value} — {record.reason}"),
        ("Target", f"{record.target or '-'} in {record.namespace}"),
        ("Release", f"revision {record.release.revision}, version {record.release.version or '-'}"),
        ("Rollback", f"{rollback.action.value} — {rollback.reason}"),
        (
            "From → to",
            f"{rollback.from_version or rollback.from_revision} → {rollback.to_version or rollback.to_revision}",
        ),
        ("Health recovered", {True: "yes", False: "no", None: "-"}[rollback.recovered]),
        ("Exit code", str(record.exit_code)),
    ]
    if rollback.error:
        rows.append(("Rollback error", rollback.error))
    cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f'<div class="rollcheck-summary"><h2>rollcheck</h2><table id="rollcheck-summary">{cells}</table></div>'


class HtmlSummary:
    """Adds the rollback summary to the top of the pytest-html report (whose own sessionfinish runs last)."""

    def __init__(self, record: Callable[[], RunRecord | None]) -> None:
        self._record = record

    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str]) -> None:
        record = self._record()
        if record is not None:
            prefix.append(html_summary(record))


_ALLURE_SEVERITY = {Severity.CRITICAL: "critical", Severity.WARNING: "normal", Severity.INFO: "minor"}

# Allure puts a result in the first category that matches, so the specific ones come first. Whether the
# release was rolled back is in the environment and the global "rollcheck report" attachment, not here.
_CATEGORIES = [
    {
        "name": "Could not measure (inconclusive)",
        "matchedStatuses": ["failed", "broken"],
        "messageRegex": ".*(MetricsUnavailable|InsufficientData|ClusterUnavailable|Timeout).*",
    },
    {"name": "Check broken (not evidence about the release)", "matchedStatuses": ["broken"]},
    {"name": "Release check failed", "matchedStatuses": ["failed"]},
]


class AllureSteps:
    """Labels, and one step with an attachment per measurement, on each check's Allure result. Registered in
    every process (xdist workers write their own results)."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        import allure

        kind = check_kind_or_default(item)
        allure.dynamic.severity(_ALLURE_SEVERITY[kind.severity])  # type: ignore[no-untyped-call]
        allure.dynamic.tag(kind.category.value, *(() if kind.gating else ("advisory",)))  # type: ignore[no-untyped-call]
        try:
            return (yield)
        finally:
            for measurement in item.stash.get(MEASUREMENTS_KEY, []):
                title = f"{measurement.query} = {measurement.value} (threshold {measurement.threshold})"
                with allure.step(title[:300]):
                    allure.attach(
                        json.dumps(measurement.to_dict(), indent=2),
                        name="measurement",
                        attachment_type=allure.attachment_type.JSON,
                    )


class AllureReport:
    """At the end, on the controller: environment.properties, categories.json and the run record as a global
    attachment. Written at session end, after allure's --clean-alluredir has emptied the directory."""

    def __init__(self, results_dir: Path) -> None:
        self.results_dir = results_dir

    def pytest_rollcheck_report(self, record: RunRecord) -> None:
        import allure

        self.results_dir.mkdir(parents=True, exist_ok=True)
        # Allure's overview shows the first five entries: what happened comes first.
        environment = {
            "rollcheck.verdict": record.verdict.value,
            "rollcheck.rollback": record.rollback.action.value,
            "rollcheck.target": record.target or "-",
            "rollcheck.version": record.release.version or "-",
            "rollcheck.rolled_back_to": record.rollback.to_version or "-",
            "rollcheck.namespace": record.namespace,
            "rollcheck.revision": str(record.release.revision),
            "ci.pipeline": record.context.pipeline_id or "-",
            "ci.commit": record.context.commit or "-",
        }
        lines = (f"{key}={_properties_escape(value)}" for key, value in environment.items())
        (self.results_dir / "environment.properties").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (self.results_dir / "categories.json").write_text(json.dumps(_CATEGORIES, indent=2), encoding="utf-8")
        allure.global_attach(
            json.dumps(record.to_dict(), indent=2), name="rollcheck report", attachment_type=allure.attachment_type.JSON
        )
        if record.rollback.action is RollbackAction.FAILED:
            allure.global_error(f"rollback failed: {record.rollback.error or record.rollback.reason}")


def _properties_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("=", "\\=").replace(":", "\\:")
