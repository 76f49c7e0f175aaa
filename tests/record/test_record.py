"""The run record's JSON schema, the log line and the CI context."""

from __future__ import annotations

import datetime
import io
import json
import tempfile
from pathlib import Path

import pytest

from rollcheck.record import SCHEMA_VERSION
from rollcheck.record import CheckCategory
from rollcheck.record import CheckOutcome
from rollcheck.record import CheckResult
from rollcheck.record import CiContext
from rollcheck.record import Measurement
from rollcheck.record import ReleaseSummary
from rollcheck.record import RollbackAction
from rollcheck.record import RollbackRecord
from rollcheck.record import RunRecord
from rollcheck.record import Severity
from rollcheck.record import Timings
from rollcheck.record import Verdict
from rollcheck.record._context import ci_context
from rollcheck.record._json import write_report
from rollcheck.record._json import write_report_safely
from rollcheck.record._logline import write_log_line

AT = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.UTC)


def record(action: RollbackAction = RollbackAction.ROLLED_BACK) -> RunRecord:
    return RunRecord(
        verdict=Verdict.FAILED,
        target="deployment/shop",
        namespace="prod",
        release=ReleaseSummary(revision=4, images=("shop:v2",), version="v2"),
        checks=(
            CheckResult(
                id="checks/test_error_rate.py::test_error_rate",
                category=CheckCategory.ERROR_RATE,
                outcome=CheckOutcome.FAILED,
                gating=True,
                severity=Severity.CRITICAL,
                duration_s=1.23456,
                message="error rate 0.3 > 0.01",
                measurements=(Measurement(query="sum(x)", value=0.3, threshold=0.01, window="60s", at=AT),),
            ),
        ),
        rollback=RollbackRecord(
            action=action,
            reason="1 gating check(s) failed",
            from_revision=4,
            to_revision=3,
            from_version="v2",
            to_version="v1",
            started_at=AT,
            issued_at=AT,
            finished_at=AT,
            recovered=True,
        ),
        timings=Timings(started_at=AT, verdict_at=AT, rollback_issued_at=AT),
        context=CiContext(ci="gitlab-ci", pipeline_id="77", commit="abc123"),
        exit_code=1,
        reason="1 gating check(s) failed",
    )


def test_report_schema(tmp_path: Path) -> None:
    path = write_report(record(), tmp_path / "out")
    data = json.loads(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert set(data) >= {"verdict", "target", "release", "checks", "rollback", "timings", "context"}
    assert data["release"] == {"revision": 4, "images": ["shop:v2"], "version": "v2"}
    [check] = data["checks"]
    assert set(check) == {
        "id", "category", "outcome", "gating", "severity", "duration_s", "message", "measurements", "attempts",
    }  # fmt: skip
    assert check["duration_s"] == 1.235
    assert check["measurements"][0] == {
        "query": "sum(x)", "value": 0.3, "threshold": 0.01, "window": "60s", "at": "2026-11-26T12:00:00Z",
    }  # fmt: skip
    assert data["rollback"]["action"] == "rolled_back"
    assert data["rollback"]["from_version"] == "v2"
    assert data["rollback"]["to_revision"] == 3
    assert data["timings"]["rollback_issued_at"] == "2026-11-26T12:00:00Z"
    assert data["context"]["pipeline_id"] == "77"
    assert list(tmp_path.joinpath("out").iterdir()) == [path], "no temporary file left behind"


def test_unwritable_report_dir_raises(tmp_path: Path) -> None:
    # A regular file where the directory should be: unwritable even for root, which ignores permission bits.
    (tmp_path / "taken").write_text("")
    with pytest.raises(NotADirectoryError):
        write_report(record(), tmp_path / "taken" / "out")


def test_log_line_for_a_rollback() -> None:
    stream = io.StringIO()
    assert write_log_line(record(), stream)
    line = json.loads(stream.getvalue())
    assert line["event"] == "rollcheck.rollback.rolled_back"
    assert (line["service"], line["from"], line["to"]) == ("deployment/shop", "v2", "v1")
    assert (line["pipeline"], line["commit"]) == ("77", "abc123")
    assert line["time"] == "2026-11-26T12:00:00Z"
    assert stream.getvalue().strip().count("\n") == 0, "one line"


def test_no_log_line_when_nothing_happened() -> None:
    stream = io.StringIO()
    assert not write_log_line(record(RollbackAction.NOT_NEEDED), stream)
    assert stream.getvalue() == ""


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "9", "GITHUB_SHA": "f00", "GITHUB_REPOSITORY": "o/r"},
            CiContext(
                ci="github-actions", pipeline_id="9", commit="f00", job_url="https://github.com/o/r/actions/runs/9"
            ),
        ),
        (
            {"GITLAB_CI": "true", "CI_PIPELINE_ID": "5", "CI_COMMIT_SHA": "abc", "CI_JOB_URL": "https://gl/j/1"},
            CiContext(ci="gitlab-ci", pipeline_id="5", commit="abc", job_url="https://gl/j/1"),
        ),
        ({"CI": "true", "ROLLCHECK_PIPELINE_ID": "p1"}, CiContext(ci="ci", pipeline_id="p1")),
        ({}, CiContext()),
    ],
)
def test_ci_context(environ: dict[str, str], expected: CiContext) -> None:
    assert ci_context(environ) == expected


def test_report_that_no_directory_can_hold_is_said_and_printed_never_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("a file where directories should be")
    # Under a regular file nothing can be created, even by root; tempfile.tempdir is the stdlib's own setting
    # for where mkdtemp creates (an unusable TMPDIR alone would be skipped for /tmp).
    monkeypatch.setattr(tempfile, "tempdir", str(taken / "tmp"))
    say = io.StringIO()
    assert write_report_safely(record(), taken / "out", say=say) is None
    notice, printed = say.getvalue().splitlines()
    assert f"could not write {taken / 'out'}" in notice
    assert "nor a temporary directory" in notice
    data = json.loads(printed)
    assert data["verdict"] == "failed"
    assert any("could not write" in error for error in data["errors"])


def test_report_falls_back_to_a_temporary_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    taken = tmp_path / "taken"
    taken.write_text("a file where the report directory should be")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    say = io.StringIO()
    path = write_report_safely(record(), taken / "out", say=say)
    assert path is not None
    assert path.parent.parent == tmp_path
    assert f"report at {path}" in say.getvalue()
    assert any("could not write" in error for error in json.loads(path.read_text())["errors"])
