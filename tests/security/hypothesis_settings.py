"""One bounded, reproducible hypothesis profile for the security tests: the same examples on every run (CI can
reproduce a failure from its log) and a fixed number of them, so the folder's time stays predictable."""

from __future__ import annotations

from hypothesis import HealthCheck
from hypothesis import settings

bounded = settings(
    max_examples=150,
    deadline=2000,  # milliseconds; generous for a shared 2-core machine, short enough to catch a hang
    derandomize=True,
    database=None,  # derandomized: a saved failure would only replay what the fixed seed finds anyway
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
