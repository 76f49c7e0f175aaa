"""Flaky-check confirmation: a failed gating check is re-run before its failure may roll a release back.

A check whose call fails (an assertion, not a MeasurementError or a timeout, which are inconclusive) is run
again, setup, call and teardown, so its fixtures are fresh: up to `reruns` times (`--confirm-reruns`, or
`@pytest.mark.rollcheck_confirm(reruns=, backoff=)` per check), waiting `backoff` seconds before the first
re-run and twice as long before each further one, up to MAX_BACKOFF a wait. At most MAX_RERUNS re-runs and a
backoff of at most MAX_BACKOFF are accepted: more is a usage error, not hours of sleep. The outcome:
- it passes on a re-run → flaky: reported, never a reason to roll back;
- it fails every time → failed (reproduced);
- a re-run could not measure or broke → that outcome (a failure nobody could reproduce does not roll back).

Advisory checks are never re-run: they cannot roll anything back. Nor are metric checks during a --watch: its
failure limits already ask for repeated evidence. A failed attempt that is re-run is reported
to pytest with the outcome "rerun" (as pytest-rerunfailures does, so the terminal, JUnit and pytest-html show
it), which pytest does not count as a failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Generator
from dataclasses import dataclass
from dataclasses import field

import pytest

from rollcheck.record import CheckOutcome
from rollcheck.settings import Settings

from ._markers import MAX_BACKOFF
from ._markers import MAX_RERUNS
from ._markers import check_kind_or_default
from ._markers import confirm_marker
from ._markers import is_metric

__all__ = ["ConfirmPolicy", "Confirmation", "Confirmed", "confirm_phase", "confirm_policy"]

RERUN = "rerun"
"""The report outcome of a failed attempt that is re-run."""


@dataclass(frozen=True)
class ConfirmPolicy:
    """How one check's failures are confirmed."""

    reruns: int
    """Re-runs after a failure, at most."""
    backoff: float
    """Seconds before the first re-run; doubled before each further one."""

    def delay(self, rerun: int) -> float:
        """Seconds to wait before re-run number `rerun` (1 for the first): the backoff, doubled before each
        further re-run, up to MAX_BACKOFF (the exponent is bounded too, so no re-run number overflows)."""
        return min(self.backoff * 2.0 ** min(max(rerun - 1, 0), 32), MAX_BACKOFF)


def confirm_policy(item: pytest.Item, settings: Settings) -> ConfirmPolicy | None:
    """The check's policy: the closest `rollcheck_confirm` marker over the run's settings. None when its
    failures are never re-run: an advisory check, a metric check during a watch (the analysis's own limits
    confirm a failure with fresh measurements, and a re-run would only delay the next round), or no re-runs
    configured."""
    if not check_kind_or_default(item).gating:
        return None
    if settings.watch > 0 and is_metric(item):
        return None
    reruns, backoff = confirm_marker(item)
    policy = ConfirmPolicy(
        reruns=settings.confirm_reruns if reruns is None else reruns,
        backoff=settings.confirm_backoff if backoff is None else backoff,
    )
    return policy if policy.reruns > 0 else None


@dataclass
class _Attempts:
    """One check's confirmation in progress (mutable: it follows the attempts)."""

    policy: ConfirmPolicy
    attempt: int = 1
    failures: list[str] = field(default_factory=list)
    rerun_requested: bool = False


_ATTEMPTS_KEY = pytest.StashKey[_Attempts]()


@dataclass(frozen=True)
class Confirmed:
    """A phase's classification after confirmation."""

    outcome: CheckOutcome
    """The outcome to record: flaky when a re-run passed after a failure."""
    message: str
    """The message to record."""
    attempt: int
    """Which attempt this report belongs to (1 for the first run)."""


def confirm_phase(item: pytest.Item, report: pytest.TestReport, outcome: CheckOutcome, message: str) -> Confirmed:
    """Apply confirmation to one phase report's classification. A failed call with re-runs left becomes a
    "rerun" report and asks the protocol wrapper for another attempt."""
    state = item.stash.get(_ATTEMPTS_KEY, None)
    if state is None:
        return Confirmed(outcome, message, 1)
    if report.when == "call" and outcome is CheckOutcome.FAILED and state.attempt <= state.policy.reruns:
        state.failures.append(message)
        state.rerun_requested = True
        # pytest's reports know passed, failed and skipped; "rerun" is the convention pytest-rerunfailures set
        # and the terminal, JUnit and pytest-html follow: shown, but not counted as a failure.
        report.outcome = RERUN  # type: ignore[assignment]
        total = state.policy.reruns + 1
        return Confirmed(outcome, f"attempt {state.attempt} of {total} failed, re-running: {message}", state.attempt)
    if not state.failures:
        return Confirmed(outcome, message, state.attempt)
    if report.when == "call" and outcome is CheckOutcome.PASSED:
        failed, first = len(state.failures), state.failures[0]
        text = f"flaky: failed {failed} time(s), then passed on attempt {state.attempt}; first failure: {first}"
        return Confirmed(CheckOutcome.FLAKY, text, state.attempt)
    if outcome in (CheckOutcome.INCONCLUSIVE, CheckOutcome.ERROR):
        text = f"{message} (on re-run {state.attempt - 1}, after a failure: {state.failures[-1]})"
        return Confirmed(outcome, text, state.attempt)
    return Confirmed(outcome, message, state.attempt)


class Confirmation:
    """The plugin that re-runs failed gating checks; registered on every process that runs checks."""

    def __init__(self, settings: Settings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        # The markers are bounded where they are read; the run-wide values are bounded here, at configure time.
        where = "--confirm-… (--rollcheck-confirm-… in pytest), ROLLCHECK_CONFIRM_… or the ini"
        if not 0 <= settings.confirm_reruns <= MAX_RERUNS:
            raise pytest.UsageError(
                f"confirm_reruns={settings.confirm_reruns} (from {where}): must be a whole number from 0 to "
                f"{MAX_RERUNS}"
            )
        if not 0 <= settings.confirm_backoff <= MAX_BACKOFF:
            raise pytest.UsageError(
                f"confirm_backoff={settings.confirm_backoff:g}s (from {where}): must be from 0 to {MAX_BACKOFF:g} "
                "seconds"
            )
        self.settings = settings
        self._sleep = sleep

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        state = item.stash.get(_ATTEMPTS_KEY, None)
        outermost = state is None
        if state is None:
            policy = confirm_policy(item, self.settings)
            if policy is None:
                return (yield)
            state = item.stash[_ATTEMPTS_KEY] = _Attempts(policy)
        try:
            result = yield
            if state.rerun_requested:
                state.rerun_requested = False
                self._sleep(state.policy.delay(state.attempt))
                state.attempt += 1
                # The whole protocol again: pytest's runner sets up a fresh fixture request for an item that
                # ran before (as it does for pytest-rerunfailures), so the function's fixtures are new. This
                # call comes back through this wrapper, which handles the attempt after it.
                item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            return result
        finally:
            if outermost:
                del item.stash[_ATTEMPTS_KEY]

    def pytest_report_teststatus(
        self, report: pytest.TestReport
    ) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
        if report.outcome == RERUN:
            return RERUN, "R", ("RERUN", {"yellow": True})
        return None
