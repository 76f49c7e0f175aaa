"""Analysis over time (`--watch DURATION --interval DURATION`), on the controller.

After pytest's ordinary pass over the checks (round 0), the metric checks (marked `rollcheck_metric`) run again
every interval through pytest's own `pytest_runtest_protocol`, so fixtures, timeouts and every report writer
see each repetition. Each round measures over the last interval: the run's settings are swapped for the round
with `window` set to the interval, so consecutive rounds cover consecutive stretches of time and a spike is
counted once. After every round the pure `rollcheck.decide.analyse` applies the limits; the watch stops as soon
as it is decided, so a failure is caught within about one interval plus a scrape, not at the end of the watch.

Ctrl-C or SIGTERM during the watch interrupts the run like any other (no rollback); the measurements so far
are still in the report.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import Generator
from collections.abc import Sequence

import pytest

from rollcheck.decide import AnalysisResult
from rollcheck.decide import AnalysisRules
from rollcheck.decide import analyse
from rollcheck.decide import describe_watch
from rollcheck.record import CheckOutcome
from rollcheck.record._analysis import AnalysisMeasurement
from rollcheck.record._analysis import AnalysisRecord
from rollcheck.record._analysis import AnalysisStatus
from rollcheck.record._analysis import MeasurementOutcome
from rollcheck.settings import Settings

from ._markers import is_metric
from ._outcomes import CheckCollector
from ._outcomes import payload_of
from ._state import MEASUREMENTS_KEY
from ._state import SETTINGS_KEY
from ._watch import WATCH_KEY
from ._watch import Watched

__all__ = ["Watch"]

_OUTCOMES = {
    CheckOutcome.PASSED: MeasurementOutcome.PASSED,
    CheckOutcome.FAILED: MeasurementOutcome.FAILED,
    CheckOutcome.INCONCLUSIVE: MeasurementOutcome.INCONCLUSIVE,
    CheckOutcome.ERROR: MeasurementOutcome.INCONCLUSIVE,
    # Failed, then passed when confirmation re-ran it at once: the newer reading stands, the message says flaky.
    CheckOutcome.FLAKY: MeasurementOutcome.PASSED,
}


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _measurement(check: str, reports: Sequence[pytest.TestReport], round_number: int) -> AnalysisMeasurement | None:
    """One repetition's measurement from its phase reports; None when it was skipped (no Prometheus)."""
    collector = CheckCollector()
    for report in reports:
        collector.add(report)
    found = collector.results()
    if not found or found[0].outcome is CheckOutcome.SKIPPED:
        return None
    result = found[0]
    outcome = _OUTCOMES[result.outcome]
    if outcome is MeasurementOutcome.INCONCLUSIVE and any(
        (payload_of(report) or {}).get("insufficient") for report in reports
    ):
        outcome = MeasurementOutcome.INSUFFICIENT
    # The last query a check records is the quantity it judges (the request count comes first).
    last = result.measurements[-1] if result.measurements else None
    return AnalysisMeasurement(
        round=round_number,
        check=check,
        outcome=outcome,
        at=_utcnow(),
        query=last.query if last else None,
        value=last.value if last else None,
        threshold=last.threshold if last else None,
        window=last.window if last else None,
        message=result.message,
    )


class Watch:
    """Registered on the controller when `--watch` is set; the round loop wraps `pytest_runtestloop`."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.rules = AnalysisRules(
            failure_limit=settings.failure_limit,
            consecutive_failure_limit=settings.consecutive_failure_limit,
            inconclusive_limit=settings.inconclusive_limit,
        )
        self._metric_ids: set[str] = set()
        self._reports: dict[str, list[pytest.TestReport]] = {}
        self._failed_elsewhere: list[str] = []
        self._measurements: list[AnalysisMeasurement] = []
        self._rounds = 0
        self._started_at: datetime.datetime | None = None

    def pytest_report_header(self) -> list[str]:
        return [f"rollcheck: watch: {describe_watch(self.settings)}"]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid in self._metric_ids:
            self._reports.setdefault(report.nodeid, []).append(report)
            return
        payload = payload_of(report)
        # report.failed: a failed attempt that confirmation re-runs is reported as "rerun", not yet a failure.
        if report.failed and payload is not None and payload["gating"] and payload["outcome"] == "failed":
            self._failed_elsewhere.append(report.nodeid)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        items = [item for item in session.items if is_metric(item)]
        self._metric_ids = {item.nodeid for item in items}
        result = yield  # round 0: pytest's ordinary pass; an interruption or -x failure ends the run here
        self._watch(session, items)
        return result

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        watched = self.config.stash.get(WATCH_KEY, None)
        if watched is not None:
            record = watched.record
            terminalreporter.write_line(
                f"rollcheck analysis over time: {record.status.value} "
                f"({record.deciding_rule or 'no rule fired'}) after {record.rounds} round(s), "
                f"{len(record.measurements)} measurement(s): {record.reason}"
            )

    def _watch(self, session: pytest.Session, items: Sequence[pytest.Item]) -> None:
        self._started_at = _utcnow()
        self._close_round(0, ended=False)
        if self._failed_elsewhere:
            shown = ", ".join(self._failed_elsewhere[:3])
            self._store(
                analyse(self._measurements, self.rules, ended=False),
                f"not watched: a gating check already failed in the first pass ({shown}), so the release fails "
                "whatever the metrics do",
            )
            return
        if not self._measurements:
            self._close_round(0, ended=True)  # no metric check measured (none, or no Prometheus): nothing to watch
            return
        if self._decided():
            return
        start = due = time.monotonic()
        while True:
            # A round that overran its interval is followed at once, never by a burst of missed ones.
            due = max(due + self.settings.interval, time.monotonic())
            if due - start > self.settings.watch + 1e-6:
                break
            time.sleep(max(due - time.monotonic(), 0.0))
            if session.shouldstop or session.shouldfail:
                return  # pytest was told to stop (a session timeout, -x): the analysis stays incomplete
            self._run_round(session, items)
            self._rounds += 1
            self._close_round(self._rounds, ended=False)
            if self._decided():
                return
        self._close_round(self._rounds, ended=True)

    def _run_round(self, session: pytest.Session, items: Sequence[pytest.Item]) -> None:
        # Each round measures the last interval; a check's own rollcheck_settings(window=...) still wins.
        self.config.stash[SETTINGS_KEY] = dataclasses.replace(self.settings, window=self.settings.interval)
        try:
            for index, item in enumerate(items):
                item.stash[MEASUREMENTS_KEY] = []  # this round's evidence only; the analysis keeps the rest
                following = items[index + 1] if index + 1 < len(items) else None
                item.ihook.pytest_runtest_protocol(item=item, nextitem=following)
                if session.shouldstop or session.shouldfail:
                    break
        finally:
            self.config.stash[SETTINGS_KEY] = self.settings

    def _close_round(self, round_number: int, *, ended: bool) -> None:
        for check, reports in self._reports.items():
            measurement = _measurement(check, reports, round_number)
            if measurement is not None:
                self._measurements.append(measurement)
        self._reports = {}
        result = analyse(self._measurements, self.rules, ended=ended)
        self._store(result, result.reason)
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and round_number > 0:
            shown = ", ".join(
                f"{m.check.rsplit('::', 1)[-1]} {m.outcome.value}"
                for m in self._measurements
                if m.round == round_number
            )
            reporter.write_line(f"rollcheck watch round {round_number}: {shown or 'nothing measured'}")

    def _decided(self) -> bool:
        return self.config.stash[WATCH_KEY].record.status is not AnalysisStatus.INCOMPLETE

    def _store(self, result: AnalysisResult, reason: str) -> None:
        record = AnalysisRecord(
            status=result.status,
            deciding_rule=result.deciding_rule,
            reason=reason,
            watch_s=self.settings.watch,
            interval_s=self.settings.interval,
            failure_limit=self.rules.failure_limit,
            consecutive_failure_limit=self.rules.consecutive_failure_limit,
            inconclusive_limit=self.rules.inconclusive_limit,
            rounds=self._rounds,
            started_at=self._started_at,
            finished_at=_utcnow(),
            measurements=tuple(self._measurements),
        )
        self.config.stash[WATCH_KEY] = Watched(record, result)
