"""Evidence recording and the failure messages built from it."""

from __future__ import annotations

import datetime

import pytest

from rollcheck.measure import Evidence
from rollcheck.measure import describe
from rollcheck.measure import format_value
from rollcheck.record import Measurement

AT = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)


def test_record_appends_to_the_sink_with_window_and_time() -> None:
    sink: list[Measurement] = []
    evidence = Evidence(sink, now=lambda: AT)
    first = evidence.record("sum(x)", 0.31, threshold=0.01, window=60)
    second = evidence.record("GET /health", 200.0, window="5m")
    assert sink == [first, second]
    assert evidence.measurements == (first, second)
    assert first == Measurement(query="sum(x)", value=0.31, threshold=0.01, window="60s", at=AT)
    assert second.window == "5m"
    assert second.threshold is None


def test_record_keeps_an_explicit_evaluation_time() -> None:
    later = AT + datetime.timedelta(seconds=5)
    measurement = Evidence([], now=lambda: AT).record("q", None, at=later)
    assert measurement.at == later
    assert measurement.value is None


def test_describe_says_what_was_compared_over_which_window_and_the_query() -> None:
    measurement = Measurement(query="sum(a)/sum(b)", value=0.3123, threshold=0.01, window="60s", at=AT)
    assert describe(measurement, "error rate {value} > max {threshold}") == (
        "error rate 0.3123 > max 0.01 over 60s (query: sum(a)/sum(b))"
    )


def test_describe_without_window() -> None:
    measurement = Measurement(query="q", value=None, threshold=3)
    assert describe(measurement, "value {value} vs {threshold}") == "value no value vs 3 (query: q)"


@pytest.mark.parametrize(
    ("value", "shown"), [(None, "no value"), (float("inf"), "+Inf"), (float("-inf"), "-Inf"), (1234567.0, "1.235e+06")]
)
def test_format_value(value: float | None, shown: str) -> None:
    assert format_value(value) == shown
