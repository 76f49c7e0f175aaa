"""The metric window starts when the rollout completed; waiting is bounded by the check's deadline."""

from __future__ import annotations

import datetime

import pytest

from rollcheck import InsufficientData
from rollcheck.measure import wait_for_window
from rollcheck.target import Release
from rollcheck.target import TargetRef

COMPLETED = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=datetime.UTC)


class Clock:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self, seconds_after_completion: float) -> None:
        self.now = COMPLETED + datetime.timedelta(seconds=seconds_after_completion)
        self.slept: list[float] = []

    def __call__(self) -> datetime.datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += datetime.timedelta(seconds=seconds)


def _release(completed_at: datetime.datetime | None = COMPLETED) -> Release:
    return Release(
        target=TargetRef.parse("deployment/shop"),
        namespace="prod",
        revision=2,
        images=("shop:v2",),
        version="v2",
        rollout_completed_at=completed_at,
    )


def test_window_already_passed_does_not_wait() -> None:
    clock = Clock(seconds_after_completion=90)
    assert wait_for_window(_release(), 60, deadline_seconds=10, now=clock, sleep=clock.sleep) == 60
    assert clock.slept == []


def test_waits_for_the_rest_of_the_window() -> None:
    clock = Clock(seconds_after_completion=15)
    assert wait_for_window(_release(), 60, deadline_seconds=100, now=clock, sleep=clock.sleep) == 60
    assert clock.slept == [45]
    assert clock.now == COMPLETED + datetime.timedelta(seconds=60)


def test_deadline_shortens_the_window_when_at_least_half_is_available() -> None:
    clock = Clock(seconds_after_completion=20)
    window = wait_for_window(_release(), 60, deadline_seconds=15.5, now=clock, sleep=clock.sleep)
    assert window == 35  # 20 s passed + 15.5 s of deadline, in whole seconds
    assert clock.slept == [15.5]


def test_less_than_half_the_window_is_insufficient_without_waiting() -> None:
    clock = Clock(seconds_after_completion=5)
    with pytest.raises(
        InsufficientData, match=r"only 25s of the 60s metric window .* at least half the window \(30s\)"
    ):
        wait_for_window(_release(), 60, deadline_seconds=20, now=clock, sleep=clock.sleep)
    assert clock.slept == []


def test_no_completed_rollout_means_no_window() -> None:
    clock = Clock(seconds_after_completion=0)
    with pytest.raises(InsufficientData, match="the rollout has not completed; no metric window"):
        wait_for_window(_release(None), 60, deadline_seconds=100, now=clock, sleep=clock.sleep)


def test_real_clock_and_sleep_by_default() -> None:
    recent = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=0.8)
    assert wait_for_window(_release(recent), 1.0, deadline_seconds=5) == 1.0
    assert datetime.datetime.now(datetime.UTC) - recent >= datetime.timedelta(seconds=1.0)
