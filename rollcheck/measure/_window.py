"""The metric window: it starts when the release's rollout completed, so no sample predates the release."""

from __future__ import annotations

import datetime
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._errors import InsufficientData
from ..target._release import Release

if TYPE_CHECKING:
    from ._prom import Prom


@dataclass(frozen=True)
class MetricWindow:
    """What a metric check measures with: the `metric_window` fixture's value."""

    prom: Prom
    """Queries on the run's Prometheus, selecting the release's series."""
    seconds: float
    """The window, in seconds, ending now and starting no earlier than the rollout's completion."""


__all__ = ["MetricWindow", "wait_for_window"]


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def wait_for_window(
    release: Release,
    window_seconds: float,
    *,
    deadline_seconds: float,
    now: Callable[[], datetime.datetime] = _utcnow,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Wait until `window_seconds` have passed since the rollout completed, but at most `deadline_seconds`;
    return the window to measure over, in seconds.

    The rule:
    - the whole window has passed already, or will within the deadline → wait for it, return `window_seconds`;
    - otherwise wait out the deadline and measure over the time since completion (whole seconds, rounded
      down), provided that is at least half the window; less than half is too little evidence, so
      InsufficientData is raised at once, without waiting;
    - no completed rollout (`rollout_completed_at` is None) → InsufficientData: there is no window.
    """
    completed = release.rollout_completed_at
    if completed is None:
        raise InsufficientData("the rollout has not completed; no metric window")
    elapsed = (now() - completed).total_seconds()
    missing = window_seconds - elapsed
    if missing <= 0:
        return window_seconds
    if missing <= deadline_seconds:
        sleep(missing)
        return window_seconds
    available = math.floor(elapsed + max(deadline_seconds, 0.0))
    if available < window_seconds / 2:
        raise InsufficientData(
            f"only {max(available, 0)}s of the {window_seconds:g}s metric window will have passed since the "
            f"rollout completed ({completed.isoformat()}) by the check's deadline ({deadline_seconds:.0f}s from "
            f"now); at least half the window ({window_seconds / 2:g}s) is needed to judge"
        )
    sleep(max(deadline_seconds, 0.0))
    return float(available)
