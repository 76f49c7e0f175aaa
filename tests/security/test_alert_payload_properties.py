"""Whatever JSON reaches `POST /alertmanager`, reading it gives alerts or PayloadError, and each alert's labels
give a target or a ValueError with the reason: never another exception."""

from __future__ import annotations

from typing import Any

from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_settings import bounded

from rollcheck.serve import Alert
from rollcheck.serve import PayloadError
from rollcheck.serve import parse_alertmanager
from rollcheck.serve import resolve_target

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
LABEL_NAMES = st.sampled_from(
    ["alertname", "namespace", "deployment", "statefulset", "daemonset", "helm_release", "rollcheck_target"]
)
LABEL_VALUES = st.sampled_from(["shop", "prod", "deployment/shop", "", "Shop", "a" * 70, "x/y/z", "../etc"]) | st.text(
    max_size=15
)


def _valid() -> dict[str, Any]:
    return {
        "version": "4",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "HighErrorRate", "namespace": "prod", "deployment": "shop"},
                "annotations": {"summary": "5xx above 10%"},
                "startsAt": "2026-11-26T12:00:00.123456789Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": "0123456789abcdef",
            }
        ],
    }


def _reads_or_refuses(body: object) -> list[Alert] | None:
    """The alerts, or None when refused; every refusal and every unresolved target must say why."""
    problems: list[str] = []
    try:
        alerts = parse_alertmanager(body)
    except PayloadError as error:
        problems.append(str(error))
        alerts = None
    for alert in alerts or []:
        try:
            resolve_target(alert.labels)
        except ValueError as error:
            problems.append(str(error))
    assert all(problems), "a refusal must say what is wrong"
    return alerts


def test_the_valid_payload_is_read() -> None:
    [alert] = _reads_or_refuses(_valid()) or []
    assert (alert.name, alert.firing, resolve_target(alert.labels).namespace) == ("HighErrorRate", True, "prod")


@bounded
@given(JSON)
@example([])
@example({"version": 4, "alerts": []})
@example({"version": "4", "alerts": {"a": 1}})
def test_any_json_value_is_read_or_refused(body: object) -> None:
    _reads_or_refuses(body)


# (where in the valid payload, the key) pairs a mutation can replace or delete.
_PLACES = [
    ((), "version"), ((), "alerts"), ((), "status"),
    (("alerts", 0), "status"), (("alerts", 0), "labels"), (("alerts", 0), "annotations"),
    (("alerts", 0), "startsAt"), (("alerts", 0), "fingerprint"),
]  # fmt: skip


@bounded
@given(st.lists(st.tuples(st.sampled_from(_PLACES), st.none() | JSON), min_size=1, max_size=4))
def test_any_mutation_of_a_valid_payload_is_read_or_refused(mutations: list[tuple[Any, object]]) -> None:
    body = _valid()
    for (path, key), value in mutations:
        parent: Any = body
        for step in path:
            try:
                parent = parent[step]
            except (KeyError, IndexError, TypeError):
                break
        if isinstance(parent, dict):
            if value is None:
                parent.pop(key, None)
            else:
                parent[key] = value
    _reads_or_refuses(body)


@bounded
@given(st.dictionaries(LABEL_NAMES | st.text(max_size=8), LABEL_VALUES, max_size=5))
def test_any_labels_name_a_workload_or_give_the_reason(labels: dict[str, str]) -> None:
    body = _valid()
    body["alerts"][0]["labels"] = labels
    [alert] = _reads_or_refuses(body) or []
    assert alert.labels == labels


@bounded
@given(st.text(max_size=40) | st.sampled_from(["2026-11-26T12:00:00.1234567891234Z", "2026-13-01T00:00:00Z"]))
def test_any_start_time_is_read_or_left_out(starts_at: str) -> None:
    body = _valid()
    body["alerts"][0]["startsAt"] = starts_at
    [alert] = _reads_or_refuses(body) or []
    assert alert.starts_at is None or alert.starts_at.tzinfo is not None
