from __future__ import annotations

import datetime
import io
import json
from pathlib import Path

import pytest

from rollcheck import ConfigError
from rollcheck.cli import main
from rollcheck.cli._output import Output
from rollcheck.cli._report import load_report
from rollcheck.cli._report import report
from rollcheck.cli._report import summary_lines
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

START = datetime.datetime(2026, 11, 26, 12, 0, 0, tzinfo=datetime.UTC)


def _at(seconds: float) -> datetime.datetime:
    return START + datetime.timedelta(seconds=seconds)


def _check(name: str, outcome: CheckOutcome, message: str = "", *measurements: Measurement) -> CheckResult:
    return CheckResult(
        id=f"checks/test_{name}.py::test_{name}",
        category=CheckCategory.ERROR_RATE if name == "error_rate" else CheckCategory.HEALTH,
        outcome=outcome,
        gating=name != "advisory",
        severity=Severity.CRITICAL,
        duration_s=1.5,
        message=message,
        measurements=measurements,
    )


RECORD = RunRecord(
    verdict=Verdict.FAILED,
    target="deployment/shop",
    namespace="shop-prod",
    release=ReleaseSummary(revision=3, images=("registry/shop:v2",), version="v2"),
    checks=(
        _check("health", CheckOutcome.PASSED),
        _check(
            "error_rate",
            CheckOutcome.FAILED,
            "error rate 0.042 above 0.01 over 1m",
            Measurement(query="sum(rate(errors[1m]))", value=0.042, threshold=0.01, window="1m", at=_at(61)),
        ),
        _check("advisory", CheckOutcome.INCONCLUSIVE, "no samples"),
    ),
    rollback=RollbackRecord(
        action=RollbackAction.ROLLED_BACK,
        reason="error_rate failed",
        from_revision=3,
        to_revision=2,
        from_version="v2",
        to_version="v1",
        started_at=_at(62),
        finished_at=_at(70),
        recovered=True,
    ),
    timings=Timings(
        started_at=START,
        verdict_at=_at(62),
        rollback_issued_at=_at(63),
        rollback_completed_at=_at(70),
        finished_at=_at(75),
    ),
    context=CiContext(ci="github"),
    exit_code=1,
    reason="1 gating check failed: error_rate",
)


@pytest.fixture
def report_dir(tmp_path: Path) -> Path:
    (tmp_path / "report.json").write_text(json.dumps(RECORD.to_dict()))
    (tmp_path / "junit.xml").write_text("<testsuites/>")
    return tmp_path


def test_the_summary_tells_the_whole_story(report_dir: Path) -> None:
    location, data = load_report(report_dir)
    text = "\n".join(summary_lines(data, location))
    assert text.splitlines()[0] == "verdict: FAILED (exit 1): 1 gating check failed: error_rate"
    assert "target: deployment/shop in namespace shop-prod, revision 3 (v2)" in text
    assert "checks: 1 passed, 1 failed, 1 inconclusive" in text
    assert "FAILED checks/test_error_rate.py::test_error_rate (error_rate, critical)" in text
    assert "error rate 0.042 above 0.01 over 1m" in text
    assert "sum(rate(errors[1m])) = 0.042 (threshold 0.01, window 1m)" in text
    assert "INCONCLUSIVE checks/test_advisory.py::test_advisory (health, critical, advisory)" in text
    assert "test_health" not in text  # passed checks are only counted
    assert "rollback: rolled_back, revision 3 (v2) -> revision 2 (v1), recovered: yes" in text
    assert "reason: error_rate failed" in text
    assert "verdict +62.0s, rollback issued +63.0s, rollback completed +70.0s, finished +75.0s" in text
    assert f"reports: {report_dir / 'report.json'}, {report_dir / 'junit.xml'}" in text
    assert "report.html" not in text  # only files that exist are listed


def test_report_command_prints_the_summary(report_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(report_dir / "report.json")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("verdict: FAILED")
    assert "\033[" not in out  # captured output is not a terminal: no colour


def test_the_verdict_is_coloured_on_a_terminal(report_dir: Path) -> None:
    stream = io.StringIO()
    report(report_dir, Output(stream, colour=True))
    assert stream.getvalue().startswith("\033[1;31mverdict: FAILED")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "is not a rollcheck report"),
        ('{"verdict": "passed", "schema_version": 99}', "schema version 99"),
    ],
)
def test_a_file_that_is_not_a_report_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, problem: str
) -> None:
    path = tmp_path / "report.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=problem):
        load_report(path)
    assert main(["report", str(path)]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert problem in err


def test_a_missing_report_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == 4
    assert capsys.readouterr().err == (
        f"rollcheck: error: PATH='{tmp_path}' (from command line): no such file: {tmp_path / 'report.json'}\n"
    )


def test_a_minimal_report_still_summarises(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text('{"schema_version": 1, "verdict": "passed", "reason": "ok"}')
    location, data = load_report(path)
    lines = summary_lines(data, location)
    assert lines[:2] == ["verdict: PASSED (exit ?): ok", "target: none (checks only)"]
    assert "timings: not recorded" in lines
