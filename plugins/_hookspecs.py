"""rollcheck's own hooks: the extension points for how to decide, how to roll back and where to report.

Implement them in a conftest.py or a plugin. The built-in implementations are `trylast`, so yours run first;
for the `firstresult` hooks, returning anything but None replaces the built-in behaviour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from rollcheck.decide import Decision
    from rollcheck.decide import Judgement
    from rollcheck.record import RollbackRecord
    from rollcheck.record import RunRecord
    from rollcheck.settings import Settings
    from rollcheck.target import Release


@pytest.hookspec(firstresult=True)
def pytest_rollcheck_decide(judgement: Judgement, settings: Settings) -> Decision | None:
    """Decide what to do about the verdict.

    :param judgement: the verdict, its reason and the gating checks behind it.
    :param settings: the resolved settings of the run.
    :returns: a :class:`rollcheck.decide.Decision`, or None to let the next implementation decide.

    The built-in implementation applies the policy documented in the README ("Decision rules"): never roll
    back on an inconclusive verdict unless `--on-inconclusive rollback`, dry run, `--no-rollback`.

    Use in conftest plugins: for example, to freeze releases during an incident::

        def pytest_rollcheck_decide(judgement, settings):
            if incident_open():
                return Decision(Step.NOTHING, RollbackAction.SKIPPED, "incident freeze", True)
    """


@pytest.hookspec(firstresult=True)
def pytest_rollcheck_rollback(decision: Decision, release: Release | None, settings: Settings) -> RollbackRecord | None:
    """Carry out the decision: roll the target back (or dry-run it) and return what happened.

    :param decision: the decision, with `step` ROLL_BACK or DRY_RUN.
    :param release: the release that was verified (None if it could not be read); the rollback must not
        overwrite anything deployed after it.
    :param settings: the resolved settings.
    :returns: a :class:`rollcheck.record.RollbackRecord`, or None to let the built-in engine do it.

    Called only on the xdist controller (or the single process), once per run, and never for a passed,
    interrupted or inconclusive run unless the policy says so.
    """


@pytest.hookspec
def pytest_rollcheck_report(record: RunRecord, config: pytest.Config) -> None:
    """The run is over and its record final: send it somewhere (a dashboard, a chat, a ticket).

    :param record: the run record, the same data as report.json.
    :param config: the pytest config.

    Every implementation is called; an exception in one is recorded in the report's `errors` and does not
    stop the others or change the verdict. Called only on the xdist controller.
    """
