"""Calling every `pytest_rollcheck_report` implementation, each isolated from the others."""

from __future__ import annotations

import pytest

from rollcheck.record import RunRecord

__all__ = ["call_report_sinks"]


def call_report_sinks(config: pytest.Config, record: RunRecord) -> list[str]:
    """Call each implementation on its own, so one broken sink neither stops the others nor the report.
    Returns the failures, for the report's `errors`."""
    errors = []
    arguments = {"record": record, "config": config}
    for implementation in config.hook.pytest_rollcheck_report.get_hookimpls():
        try:
            # As pluggy would: each implementation gets only the arguments it names.
            implementation.function(**{name: arguments[name] for name in implementation.argnames})
        except (Exception, KeyboardInterrupt) as error:  # Ctrl-C in a sink ends that sink, not the report
            errors.append(f"report sink {implementation.plugin_name} failed: {error!r}"[:500])
    return errors
