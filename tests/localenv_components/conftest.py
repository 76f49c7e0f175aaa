"""Fixtures for testing the local environment's own processes."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator

import pytest
from component_helpers import RunningDemo
from component_helpers import start_demo
from component_helpers import stop_process


@pytest.fixture
def demo_service() -> Iterator[Callable[..., RunningDemo]]:
    """Start real demo services: ``demo_service("v2", DEMO_ERROR_RATE="0.3")``; all stopped afterwards."""
    started: list[RunningDemo] = []

    def start(version: str = "v1", *, wait: bool = True, **knobs: str) -> RunningDemo:
        demo = start_demo(version, **knobs)
        started.append(demo)
        if wait:
            demo.wait_answering()
        return demo

    yield start
    for demo in started:
        stop_process(demo.process)
