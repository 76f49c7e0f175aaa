"""The rollcheck session: registered by `pytest_configure` only when rollcheck is enabled.

It reads the release under test at the start, classifies every check's reports, and at the end runs
verdict → decide → act → record, once, on the xdist controller (or the only process).
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import sys
import tempfile
from collections.abc import Generator
from pathlib import Path

import pytest

from rollcheck import ExitCode
from rollcheck import RollcheckError
from rollcheck.act import carry_out
from rollcheck.decide import Decision
from rollcheck.decide import Judgement
from rollcheck.decide import Step
from rollcheck.decide import decide
from rollcheck.decide import exit_code
from rollcheck.decide import judge
from rollcheck.record import ReleaseSummary
from rollcheck.record import RollbackAction
from rollcheck.record import RollbackRecord
from rollcheck.record import RunRecord
from rollcheck.record import Timings
from rollcheck.record._context import ci_context
from rollcheck.record._json import write_report
from rollcheck.record._logline import write_log_line
from rollcheck.settings import Settings
from rollcheck.settings import format_duration
from rollcheck.settings import insecure_warning
from rollcheck.target import Release

from ._outcomes import CheckCollector
from ._outcomes import classify_phase
from ._outcomes import payload_of
from ._recovery import check_recovery
from ._report_sinks import call_report_sinks
from ._state import RELEASE_KEY
from ._terminal import summary_lines

__all__ = ["RollcheckSession", "is_controller"]

# pytest's own statuses that say nothing about the release: they never roll back and are kept as they are.
_NOT_A_VERDICT = {
    pytest.ExitCode.INTERRUPTED,
    pytest.ExitCode.INTERNAL_ERROR,
    pytest.ExitCode.USAGE_ERROR,
    pytest.ExitCode.NO_TESTS_COLLECTED,
}


def is_controller(config: pytest.Config) -> bool:
    """True on the xdist controller or in a run without xdist: the only place with side effects."""
    return not hasattr(config, "workerinput")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def read_verified_release(settings: Settings) -> Release:
    """Wait (bounded) for the target's rollout to settle, then read the release that will be judged."""
    from rollcheck.kube import connect
    from rollcheck.kube import read_release
    from rollcheck.kube import wait_for_rollout

    assert settings.target is not None
    with connect(kubeconfig=settings.kubeconfig, context=settings.context) as kube:
        wait_for_rollout(kube, settings.target, settings.namespace, timeout=settings.rollout_timeout)
        return read_release(kube, settings.target, settings.namespace)


def image_mismatch(settings: Settings, release: Release) -> str | None:
    missing = [image for image in settings.expect_images if image not in release.images]
    if not missing:
        return None
    return (
        f"the release under test runs {', '.join(release.images) or 'no images'}, not the expected "
        f"{', '.join(missing)} (--expect-image): refusing to judge a release CI did not deploy"
    )


class RollcheckSession:
    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.collector = CheckCollector()
        self.started_at = _now()
        self.record: RunRecord | None = None
        self.report_path: Path | None = None

    def pytest_report_header(self) -> list[str]:
        s = self.settings
        return [
            f"rollcheck: target {s.target or '-'} in namespace {s.namespace}; "
            f"base URL {s.base_url or '-'}; Prometheus {'configured' if s.prometheus_url else '-'}",
            f"rollcheck: max error rate {s.max_error_rate}, max p99 {s.max_p99_latency}s, "
            f"window {format_duration(s.window)}, "
            f"min requests {s.min_requests}; on inconclusive: {s.on_inconclusive.value}; "
            f"rollback {'dry run' if s.dry_run else ('on' if s.rollback else 'off')}",
            *([f"rollcheck: WARNING: {warning}"] if (warning := insecure_warning(s)) else []),
        ]

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.settings.target is None:
            return
        try:
            release: Release | Exception = read_verified_release(self.settings)
        except RollcheckError as error:
            release = error
        self.config.stash[RELEASE_KEY] = release

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        # Every check gets a timeout unless it or the command line sets one; the signal method ends a hanging
        # check as a failure, where the thread method would exit the process before any rollback or report.
        if self.config.getoption("timeout", None):
            return
        for item in items:
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(self.settings.check_timeout, method="signal"))

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        report.user_properties.append(("rollcheck", classify_phase(item, call, report)))
        return report

    def pytest_report_teststatus(self, report: pytest.TestReport) -> tuple[str, str, str] | None:
        payload = payload_of(report)
        if payload is not None and payload["outcome"] == "inconclusive":
            return "inconclusive", "I", "INCONCLUSIVE"
        return None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.collector.add(report)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not is_controller(self.config):
            return
        status = pytest.ExitCode(exitstatus) if exitstatus in set(pytest.ExitCode) else None
        self.record = self._finish(status)
        if status not in _NOT_A_VERDICT:
            session.exitstatus = self.record.exit_code

    def _verified(self) -> tuple[Release | None, str | None]:
        """The release that was judged, and a problem that makes every check untrustworthy, if any."""
        found = self.config.stash.get(RELEASE_KEY, None)
        if isinstance(found, Exception):
            return None, f"the release under test could not be read: {found}"
        if found is None:
            return None, None
        return found, image_mismatch(self.settings, found)

    def _decision(self, judgement: Judgement, status: pytest.ExitCode | None) -> Decision:
        if status in _NOT_A_VERDICT:
            name = status.name if status is not None else "an unknown status"
            return decide(judgement.verdict, judgement.reason, self.settings, not_a_verdict=f"pytest ended with {name}")
        decision: Decision = self.config.hook.pytest_rollcheck_decide(judgement=judgement, settings=self.settings)
        return decision

    def _act(self, decision: Decision, verified: Release | None) -> RollbackRecord:
        if decision.step is Step.NOTHING:
            return RollbackRecord(action=decision.action, reason=decision.reason)
        try:
            record: RollbackRecord = self.config.hook.pytest_rollcheck_rollback(
                decision=decision, release=verified, settings=self.settings
            )
        except Exception as error:  # a custom rollback hook broke: the report must still be written
            record = RollbackRecord(
                action=RollbackAction.FAILED, reason=decision.reason, error=f"rollback hook raised {error!r}"
            )
        return record

    def _finish(self, status: pytest.ExitCode | None) -> RunRecord:
        verified, problem = self._verified()
        judgement = judge(self.collector.results(), blocking_problem=problem)
        verdict_at = _now()
        decision = self._decision(judgement, status)
        rollback = self._act(decision, verified)
        code = exit_code(judgement.verdict, decision, rollback, self.settings.on_inconclusive)
        if status in _NOT_A_VERDICT:
            code = {pytest.ExitCode.NO_TESTS_COLLECTED: ExitCode.NO_CHECKS}.get(status, ExitCode(int(status)))
        record = RunRecord(
            verdict=judgement.verdict,
            target=str(self.settings.target) if self.settings.target else None,
            namespace=self.settings.namespace,
            release=ReleaseSummary(revision=verified.revision, images=verified.images, version=verified.version)
            if verified
            else ReleaseSummary(),
            checks=self.collector.results(),
            rollback=rollback,
            timings=Timings(
                started_at=self.started_at,
                verdict_at=verdict_at,
                rollback_issued_at=rollback.issued_at,
                rollback_completed_at=rollback.finished_at if rollback.issued_at else None,
                finished_at=_now(),
            ),
            context=ci_context(os.environ),
            exit_code=int(code),
            reason=judgement.reason,
        )
        sink_errors = call_report_sinks(self.config, record)
        if sink_errors:
            record = dataclasses.replace(record, errors=record.errors + tuple(sink_errors))
        self.report_path = self._write(record)
        write_log_line(record, sys.stderr)
        return record

    def _write(self, record: RunRecord) -> Path:
        """Write report.json; if the report directory cannot be written, write it elsewhere and say where,
        because the record must never be lost."""
        try:
            return write_report(record, self.settings.report_dir)
        except OSError as error:
            fallback = Path(tempfile.mkdtemp(prefix="rollcheck-report-"))
            problem = f"could not write {self.settings.report_dir}: {error}"
            failed = dataclasses.replace(record, errors=(*record.errors, problem))
            path = write_report(failed, fallback)
            sys.stderr.write(f"rollcheck: could not write {self.settings.report_dir} ({error}); report at {path}\n")
            return path

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.record is None:
            return
        terminalreporter.write_sep("=", "rollcheck")
        for line in summary_lines(self.record, self.report_path):
            terminalreporter.write_line(line)

    @pytest.hookimpl(trylast=True)
    def pytest_rollcheck_decide(self, judgement: Judgement, settings: Settings) -> Decision:
        return decide(judgement.verdict, judgement.reason, settings)

    @pytest.hookimpl(trylast=True)
    def pytest_rollcheck_rollback(
        self, decision: Decision, release: Release | None, settings: Settings
    ) -> RollbackRecord:
        return carry_out(decision, release, settings, recovery_check=check_recovery)
