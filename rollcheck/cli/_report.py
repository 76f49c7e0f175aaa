"""`rollcheck report PATH`: a person's summary of a report.json (see the record model for its schema)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from ..record import SCHEMA_VERSION
from ._output import Output
from ._output import Style

__all__ = ["load_report", "report", "summary_lines"]

_VERDICT_STYLE = {"passed": Style.GREEN, "failed": Style.RED, "inconclusive": Style.YELLOW}
_OUTCOME_ORDER = ("passed", "flaky", "failed", "inconclusive", "error", "skipped")
# Side files the run writes next to report.json; listed when present.
_SIBLINGS = ("junit.xml", "report.html", "allure-results")


def report(path: Path, out: Output) -> int:
    location, data = load_report(path)
    verdict = str(data["verdict"])
    lines = summary_lines(data, location)
    out.line(out.paint(lines[0], Style.BOLD, _VERDICT_STYLE.get(verdict, Style.BOLD)))
    for line in lines[1:]:
        out.line(line)
    return 0


def load_report(path: Path) -> tuple[Path, Mapping[str, Any]]:
    """The report at `path` (a report.json, or a directory holding one) and where it was found."""
    location = path / "report.json" if path.is_dir() else path

    def bad(problem: str) -> ConfigError:
        return ConfigError("PATH", str(path), "command line", problem)

    try:
        data = json.loads(location.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise bad(f"no such file: {location}" if location != path else "no such file") from None
    except OSError as error:
        raise bad(f"cannot be read: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise bad(f"is not valid JSON: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("verdict"), str):
        raise bad("is not a rollcheck report (no verdict)")
    version = data.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise bad(f"has schema version {version!r}; this rollcheck reads reports up to version {SCHEMA_VERSION}")
    return location, data


def summary_lines(data: Mapping[str, Any], location: Path) -> list[str]:
    """Verdict and reason; each check that did not pass, with its measurements; the rollback; timings; files."""
    lines = [f"verdict: {data['verdict'].upper()} (exit {data.get('exit_code', '?')}): {data.get('reason', '')}"]
    lines.append(f"target: {_release_line(data)}")
    checks = [check for check in _items(data.get("checks")) if isinstance(check, Mapping)]
    counts = {outcome: sum(check.get("outcome") == outcome for check in checks) for outcome in _OUTCOME_ORDER}
    lines.append("checks: " + ", ".join(f"{count} {outcome}" for outcome, count in counts.items() if count))
    for check in checks:
        if check.get("outcome") not in {"passed", "skipped"}:
            lines += _check_lines(check)
    lines += _rollback_lines(_mapping(data.get("rollback")))
    lines.append(f"timings: {_timings_line(_mapping(data.get('timings')))}")
    lines += [f"error: {error}" for error in _items(data.get("errors"))]
    siblings = [str(location.parent / name) for name in _SIBLINGS if (location.parent / name).exists()]
    lines.append(f"reports: {', '.join([str(location), *siblings])}")
    return lines


def _release_line(data: Mapping[str, Any]) -> str:
    target = data.get("target")
    if not target:
        return "none (checks only)"
    release = _mapping(data.get("release"))
    revision = f", revision {release['revision']}" if release.get("revision") is not None else ""
    version = f" ({release['version']})" if release.get("version") else ""
    return f"{target} in namespace {data.get('namespace', '?')}{revision}{version}"


def _check_lines(check: Mapping[str, Any]) -> list[str]:
    gating = "" if check.get("gating", True) else ", advisory"
    lines = [
        f"  {str(check.get('outcome', '?')).upper()} {check.get('id', '?')} "
        f"({check.get('category', '?')}, {check.get('severity', '?')}{gating})"
    ]
    if check.get("message"):
        lines.append(f"      {check['message']}")
    for measurement in _items(check.get("measurements")):
        if isinstance(measurement, Mapping):
            lines.append(f"      {_measurement_line(measurement)}")
    return lines


def _measurement_line(measurement: Mapping[str, Any]) -> str:
    value = measurement.get("value")
    details = [f"{key} {measurement[key]}" for key in ("threshold", "window") if measurement.get(key) is not None]
    suffix = f" ({', '.join(details)})" if details else ""
    shown = "no value" if value is None else value
    return f"{measurement.get('query', '?')} = {shown}{suffix}"


def _rollback_lines(rollback: Mapping[str, Any]) -> list[str]:
    action = rollback.get("action", "?")
    line = f"rollback: {action}"
    if rollback.get("from_revision") is not None or rollback.get("to_revision") is not None:
        line += f", {_version(rollback, 'from')} -> {_version(rollback, 'to')}"
    if rollback.get("recovered") is not None:
        line += f", recovered: {'yes' if rollback['recovered'] else 'NO'}"
    lines = [line]
    if rollback.get("reason"):
        lines.append(f"  reason: {rollback['reason']}")
    if rollback.get("error"):
        lines.append(f"  error: {rollback['error']}")
    return lines


def _version(rollback: Mapping[str, Any], side: str) -> str:
    revision, version = rollback.get(f"{side}_revision"), rollback.get(f"{side}_version")
    text = f"revision {revision}" if revision is not None else "unknown revision"
    return f"{text} ({version})" if version else text


def _timings_line(timings: Mapping[str, Any]) -> str:
    started = _instant(timings.get("started_at"))
    if started is None:
        return "not recorded"
    parts = [f"started {timings['started_at']}"]
    for key, label in (
        ("verdict_at", "verdict"),
        ("rollback_issued_at", "rollback issued"),
        ("rollback_completed_at", "rollback completed"),
        ("finished_at", "finished"),
    ):
        instant = _instant(timings.get(key))
        if instant is not None:
            parts.append(f"{label} +{(instant - started).total_seconds():.1f}s")
    return ", ".join(parts)


def _instant(text: object) -> datetime.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        instant = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    # A hand-edited time without a zone is read as UTC, so it can still be subtracted from the others.
    return instant if instant.tzinfo else instant.replace(tzinfo=datetime.UTC)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
