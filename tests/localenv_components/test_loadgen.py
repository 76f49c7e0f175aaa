"""The load generator, run as a real subprocess against real demo services listed in workloads.json."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from component_helpers import RunningDemo
from component_helpers import python_env
from component_helpers import run_module
from component_helpers import stop_process
from prometheus_client.parser import text_string_to_metric_families

from localenv_support import eventually
from rollcheck_localenv.loadgen import Target
from rollcheck_localenv.loadgen import read_targets

StartDemo = Callable[..., RunningDemo]


def api_requests(demo: RunningDemo) -> float:
    """How many API requests the demo service has answered, from its own /metrics."""
    text = httpx.get(f"{demo.url}/metrics", timeout=5).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "http_requests_total" and sample.labels["path"].startswith("/api/")
    )


def write_workloads(state_dir: Path, *demos: RunningDemo) -> None:
    entries = [{"namespace": "t", "kind": "Deployment", "name": f"w{i}", "port": d.port} for i, d in enumerate(demos)]
    (state_dir / "workloads.json").write_text(json.dumps(entries))


def test_traffic_reaches_every_listed_workload_including_new_ones(demo_service: StartDemo, tmp_path: Path) -> None:
    first, second = demo_service("v1"), demo_service("v2")
    write_workloads(tmp_path, first)
    loadgen = run_module("rollcheck_localenv.loadgen", "--state-dir", str(tmp_path), "--rate", "20", env=python_env())
    try:
        eventually(lambda: api_requests(first) >= 20, timeout=20, what="traffic to the first workload")
        assert api_requests(second) == 0

        write_workloads(tmp_path, first, second)  # picked up without a restart
        eventually(lambda: api_requests(second) >= 20, timeout=20, what="traffic to the workload added later")

        loadgen.send_signal(signal.SIGTERM)
        assert loadgen.wait(timeout=15) == 0
    finally:
        stop_process(loadgen)


def test_rate_is_roughly_honoured(demo_service: StartDemo, tmp_path: Path) -> None:
    demo = demo_service()
    write_workloads(tmp_path, demo)
    loadgen = run_module("rollcheck_localenv.loadgen", "--state-dir", str(tmp_path), "--rate", "10", env=python_env())
    try:
        eventually(lambda: api_requests(demo) >= 1, timeout=20, what="the first request")
        before = api_requests(demo)
        eventually(lambda: api_requests(demo) - before >= 30, timeout=10, what="30 more requests at 10/s")
        assert api_requests(demo) - before < 60
    finally:
        stop_process(loadgen)


def test_missing_or_malformed_workloads_file_gives_no_targets(tmp_path: Path) -> None:
    path = tmp_path / "workloads.json"
    assert read_targets(path) == []

    path.write_text("{not json")
    assert read_targets(path) == []

    path.write_text(
        json.dumps(
            [
                {"namespace": "t", "kind": "Deployment", "name": "ok", "port": 20001},
                {"namespace": "t", "kind": "Deployment", "name": "text-port", "port": "20002"},
                {"namespace": "t", "kind": "Deployment", "name": "bool-port", "port": True},
                {"namespace": "t", "kind": "Deployment", "name": "too-big", "port": 70000},
                "not an object",
            ]
        )
    )
    assert read_targets(path) == [Target("t", "Deployment", "ok", 20001)]


def test_targets_are_always_on_loopback() -> None:
    assert Target("t", "Deployment", "shop", 20001).base_url == "http://127.0.0.1:20001"


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [(["--rate", "fast"], {}, "--rate"), ([], {"LOCALENV_LOAD_RATE": "-3"}, "LOCALENV_LOAD_RATE")],
)
def test_bad_rate_exits_2_naming_its_source(tmp_path: Path, args: list[str], env: dict[str, str], named: str) -> None:
    loadgen = run_module("rollcheck_localenv.loadgen", "--state-dir", str(tmp_path), *args, env=python_env(**env))
    try:
        _, stderr = loadgen.communicate(timeout=30)
    finally:
        stop_process(loadgen)

    assert loadgen.returncode == 2
    assert named in stderr


def test_a_target_keeps_the_rate_its_workload_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "workloads.json"
    path.write_text(
        json.dumps(
            [
                {"namespace": "t", "kind": "Deployment", "name": "quiet", "port": 20001, "rate": 0.5},
                {"namespace": "t", "kind": "Deployment", "name": "odd", "port": 20002, "rate": "lots"},
            ]
        )
    )

    odd, quiet = Target("t", "Deployment", "odd", 20002), Target("t", "Deployment", "quiet", 20001, 0.5)
    assert read_targets(path) == [odd, quiet]
