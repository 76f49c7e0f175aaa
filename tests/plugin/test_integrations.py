"""The HTML summary and Allure side files render the record, escaping whatever the cluster or a check wrote."""

from __future__ import annotations

import datetime

from rollcheck.plugins._integrations import html_summary
from rollcheck.record import CiContext
from rollcheck.record import ReleaseSummary
from rollcheck.record import RollbackAction
from rollcheck.record import RollbackRecord
from rollcheck.record import RunRecord
from rollcheck.record import Timings
from rollcheck.record import Verdict

HOSTILE = '<script>alert("x")</script>'


def record() -> RunRecord:
    return RunRecord(
        verdict=Verdict.FAILED,
        target="deployment/shop",
        namespace="prod",
        release=ReleaseSummary(revision=2, images=("shop:v2",), version=HOSTILE),
        checks=(),
        rollback=RollbackRecord(
            action=RollbackAction.FAILED, reason=HOSTILE, error=f"patch refused: {HOSTILE}", recovered=None
        ),
        timings=Timings(started_at=datetime.datetime.now(datetime.UTC)),
        context=CiContext(),
        exit_code=6,
        reason=HOSTILE,
    )


def test_html_summary_escapes_everything_it_shows() -> None:
    rendered = html_summary(record())
    assert "<script>" not in rendered
    assert "&lt;script&gt;" in rendered
    assert "patch refused" in rendered
    assert ">failed — " in rendered
