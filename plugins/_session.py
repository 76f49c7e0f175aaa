"""The rollcheck session: registered by `pytest_configure` only when rollcheck is enabled.

It reads the release under test at the start (on the controller), classifies every check's reports, and at
the end runs verdict → decide → act → record, once, on the xdist controller (or the only process).
"""

from __future__ import annotations

import contextlib
import datetime
import signal
import threading
from collections.abc import Callable
from collections.abc import Generator
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from rollcheck import ClusterUnavailable
from rollcheck import ConfigError
from rollcheck.decide import Decision
from rollcheck.decide import Judgement
from rollcheck.record import RollbackRecord
from rollcheck.record import RunRecord
from rollcheck.settings import Settings
from rollcheck.settings import format_duration
from rollcheck.settings import insecure_warning
from rollcheck.settings import with_marker_overrides
from rollcheck.target import Release

from ._finish import ROLLBACK_CALLBACKS_KEY
from ._finish import builtin_decide
from ._finish import builtin_rollback
from ._finish import finish_run
from ._markers import MARKER_NAMES
from ._markers import check_kind
from ._markers import confirm_marker
from ._outcomes import CheckCollector
from ._outcomes import classify_phase
from ._outcomes import payload_of
from ._preflight import PREFLIGHT_KEY
from ._preflight import check_rollback_ready
from ._preflight import preflight_lines
from ._release_reading import read_verified_release
from ._release_reading import release_from_worker_input
from ._state import RELEASE_KEY
from ._terminal import summary_lines

__all__ = ["RollcheckSession", "is_controller"]


def is_controller(config: pytest.Config) -> bool:
    """True on the xdist controller or in a run without xdist: the only place with side effects."""
    return not hasattr(config, "workerinput")


def _interrupt_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # CI systems cancel jobs with SIGTERM. As an interruption, pytest still finishes the session, so the report
    # is written; left at its default, SIGTERM would end the process with nothing recorded.
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


class _SigtermWhileFinishing:
    """While the run is being finished (decision, rollback, report), SIGTERM is noted, not raised: nothing may
    stop report.json from being written, nor cut a rollback request off half-way. The one place it is acted on
    is `interruptible()`, entered around the wait for the restored rollout and the recovery check: a SIGTERM
    there (or one noted earlier, once the wait begins) raises KeyboardInterrupt, which ends the wait; the
    rollback is then recorded as issued with an unknown outcome, and the run exits 6."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self._raise_now = False
        self._previous: Callable[[int, FrameType | None], Any] | int | None = None
        self._installed = False

    def _noted(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if self._raise_now:
            self._raise_now = False  # once: the interrupted rollback's record must still be written
            raise KeyboardInterrupt(f"signal {signal.Signals(signum).name} while waiting for the restored rollout")

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self._previous = signal.signal(signal.SIGTERM, self._noted)
        self._installed = True
        try:
            yield
        finally:
            self._raise_now = False
            signal.signal(signal.SIGTERM, self._previous)
            self._installed = False

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        if not self._installed:  # not the main thread: signals cannot reach this wait
            yield
            return
        if self.received:
            raise KeyboardInterrupt("SIGTERM arrived before the wait for the restored rollout")
        self._raise_now = True
        try:
            yield
        finally:
            self._raise_now = False


class RollcheckSession:
    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.collector = CheckCollector()
        self.collection_errors: list[str] = []
        self.started_at = datetime.datetime.now(datetime.UTC)
        self.record: RunRecord | None = None
        self.report_path: Path | None = None
        self._previous_sigterm: Callable[[int, FrameType | None], Any] | int | None = None
        self._sigterm_installed = False
        self.interrupted_at_start = False
        self.marker_problems: dict[str, str] = {}

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
            *preflight_lines(self.config.stash.get(PREFLIGHT_KEY, None)),
        ]

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if not is_controller(self.config):
            found = release_from_worker_input(self.config)
            if found is not None:
                self.config.stash[RELEASE_KEY] = found
            return
        if threading.current_thread() is threading.main_thread():
            self._previous_sigterm = signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
            self._sigterm_installed = True
        if self.settings.target is not None:
            try:
                found = self.config.stash[RELEASE_KEY] = read_verified_release(self.config, self.settings)
                if isinstance(found, Release):
                    self.config.stash[PREFLIGHT_KEY] = check_rollback_ready(self.settings, found)
            except KeyboardInterrupt:
                # pytest would skip sessionfinish for an interruption here; stop at the run loop instead.
                self.config.stash[RELEASE_KEY] = ClusterUnavailable("interrupted while reading the release")
                self.interrupted_at_start = True

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        if self.interrupted_at_start:
            raise session.Interrupted("interrupted (SIGTERM or Ctrl-C) while reading the release under test")
        preflight = self.config.stash.get(PREFLIGHT_KEY, None)
        if preflight is not None and preflight.blocking and not session.testsfailed:
            return True  # --require-rollback-ready: no check runs; the finish records why
        return None

    def pytest_unconfigure(self) -> None:
        if self._sigterm_installed:
            signal.signal(signal.SIGTERM, self._previous_sigterm or signal.SIG_DFL)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(report.nodeid or "<session>")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        # Every check gets a timeout unless it or the command line sets one; the signal method ends a hanging
        # check as a result, where the thread method would exit the process before any rollback or report.
        timeout = (
            None
            if self.config.getoption("timeout", None)
            else pytest.mark.timeout(self.settings.check_timeout, method="signal")
        )
        for item in items:
            # One pass over the item's markers: most checks carry none of rollcheck's, so have nothing to validate.
            names = {mark.name for mark in item.iter_markers()}
            if not MARKER_NAMES.isdisjoint(names):
                self._check_markers(item)
            if timeout is not None and "timeout" not in names:
                item.add_marker(timeout)

    def _check_markers(self, item: pytest.Item) -> None:
        try:
            self._validate_markers(item)
        except pytest.UsageError as error:
            if is_controller(self.config):
                raise
            # On an xdist worker a UsageError becomes an internal error that loses the message: the check
            # fails at setup with it instead.
            self.marker_problems[item.nodeid] = str(error)

    def _validate_markers(self, item: pytest.Item) -> None:
        """A bad marker value is a usage error before anything runs, like any other bad setting."""
        check_kind(item)
        confirm_marker(item)
        for mark in item.iter_markers("rollcheck_settings"):
            if mark.args:
                raise pytest.UsageError(
                    f"{item.nodeid}: @pytest.mark.rollcheck_settings takes keyword arguments only, "
                    f"for example max_error_rate=0.05 (got {mark.args!r})"
                )
            try:
                with_marker_overrides(self.settings, mark.kwargs, f"marker on {item.nodeid}")
            except ConfigError as error:
                raise pytest.UsageError(str(error)) from None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        problem = self.marker_problems.get(item.nodeid)
        if problem is not None:
            pytest.fail(problem, pytrace=False)

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
        if payload is not None and payload["outcome"] == "flaky":
            return "flaky", "~", "FLAKY"
        return None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.collector.add(report)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not is_controller(self.config):
            return
        status = pytest.ExitCode(exitstatus) if exitstatus in set(pytest.ExitCode) else None
        sigterm = _SigtermWhileFinishing()
        with sigterm.deferred():
            self.record, self.report_path = finish_run(
                self.config,
                self.settings,
                self.collector.results(),
                status=status,
                collection_errors=self.collection_errors,
                started_at=self.started_at,
                interruptible=sigterm.interruptible,
            )
        session.exitstatus = self.record.exit_code

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.record is None:
            return
        terminalreporter.write_sep("=", "rollcheck")
        for line in summary_lines(self.record, self.report_path):
            terminalreporter.write_line(line)
        for line in preflight_lines(self.record.preflight):
            terminalreporter.write_line(line)

    @pytest.hookimpl(trylast=True)
    def pytest_rollcheck_decide(self, judgement: Judgement, settings: Settings) -> Decision:
        return builtin_decide(judgement, settings)

    @pytest.hookimpl(trylast=True)
    def pytest_rollcheck_rollback(
        self, decision: Decision, release: Release | None, settings: Settings
    ) -> RollbackRecord:
        return builtin_rollback(decision, release, settings, self.config.stash.get(ROLLBACK_CALLBACKS_KEY, None))
