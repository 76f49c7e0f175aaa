"""rollcheck's markers, and how a check's category, severity and gating are read from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import pytest

from rollcheck.record import CheckCategory
from rollcheck.record import Severity

__all__ = [
    "MARKERS",
    "MARKER_NAMES",
    "MAX_BACKOFF",
    "MAX_RERUNS",
    "CheckKind",
    "check_kind",
    "check_kind_or_default",
    "confirm_marker",
    "is_metric",
]

_Choice = TypeVar("_Choice", CheckCategory, Severity)

MAX_RERUNS = 10
"""Re-runs of one failed check, at most: each runs the check again, and a failure needs confirming, not proving."""
MAX_BACKOFF = 60.0
"""Seconds before a re-run, at most (the doubling stops here): with MAX_RERUNS, ten minutes of waiting at worst."""

MARKERS = (
    "rollcheck_check(category='custom', severity='critical'): a gating check of this category "
    "(health, rollout, error_rate, latency, custom); a failure makes the release fail",
    "rollcheck_advisory(severity='warning', category='custom'): an advisory check: reported, "
    "never a reason to roll back",
    "rollcheck_settings(**overrides): per-check settings, for example max_error_rate=0.05 (beats every other source)",
    "rollcheck_confirm(reruns=1, backoff=1.0): re-run this gating check up to `reruns` (at most 10) times after a "
    "failure, waiting `backoff` seconds (doubling, at most 60) first; failed then passed is flaky, never a reason "
    "to roll back",
    "rollcheck_metric: a metric check: with --watch it is repeated every --interval over the last interval and "
    "judged by the analysis limits; other checks run once",
)

MARKER_NAMES = frozenset(marker.partition("(")[0].partition(":")[0] for marker in MARKERS)
"""The names above: a check marked with none of them needs no validation."""


@dataclass(frozen=True)
class CheckKind:
    category: CheckCategory
    severity: Severity
    gating: bool


DEFAULT_KIND = CheckKind(category=CheckCategory.CUSTOM, severity=Severity.CRITICAL, gating=True)
"""A check without rollcheck markers: a gating custom check."""


def _enum_value(enum_type: type[_Choice], value: object, item: pytest.Item, marker: str) -> _Choice:
    try:
        return enum_type(str(value))
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise pytest.UsageError(
            f"{item.nodeid}: @pytest.mark.{marker}: {value!r} is not a {enum_type.__name__}; use one of {allowed}"
        ) from None


def check_kind(item: pytest.Item) -> CheckKind:
    """The closest rollcheck marker decides; a check without one is a gating custom check."""
    advisory = item.get_closest_marker("rollcheck_advisory")
    if advisory is not None:
        return CheckKind(
            category=_enum_value(CheckCategory, advisory.kwargs.get("category", "custom"), item, advisory.name),
            severity=_enum_value(Severity, advisory.kwargs.get("severity", "warning"), item, advisory.name),
            gating=False,
        )
    marker = item.get_closest_marker("rollcheck_check")
    kwargs = marker.kwargs if marker is not None else {}
    return CheckKind(
        category=_enum_value(CheckCategory, kwargs.get("category", "custom"), item, "rollcheck_check"),
        severity=_enum_value(Severity, kwargs.get("severity", "critical"), item, "rollcheck_check"),
        gating=True,
    )


_KIND_KEY = pytest.StashKey[tuple[int, CheckKind]]()
"""item.stash: the check's kind, with the number of the item's own markers it was read from."""


def check_kind_or_default(item: pytest.Item) -> CheckKind:
    """For hooks that must not raise (reporting): a bad marker is reported as the check's own error instead.

    Asked for every phase of every check, so it is read once per item; again only when a marker was added to
    the item since (a fixture may call `request.node.add_marker`)."""
    cached = item.stash.get(_KIND_KEY, None)
    if cached is not None and cached[0] == len(item.own_markers):
        return cached[1]
    try:
        kind = check_kind(item)
    except pytest.UsageError:
        kind = DEFAULT_KIND
    item.stash[_KIND_KEY] = (len(item.own_markers), kind)
    return kind


def is_metric(item: pytest.Item) -> bool:
    """Marked `rollcheck_metric` (the built-in error-rate and latency checks are): repeated during a watch."""
    return item.get_closest_marker("rollcheck_metric") is not None


def _marker_number(item: pytest.Item, name: str, value: object, *, whole: bool, most: float) -> float:
    kind = f"a whole number from 0 to {most:g}" if whole else f"a number of seconds from 0 to {most:g}"
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (whole and not isinstance(value, int))
        or not 0 <= value <= most
    ):
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.rollcheck_confirm: {name}={value!r} must be {kind}")
    return float(value)


def confirm_marker(item: pytest.Item) -> tuple[int | None, float | None]:
    """The closest `rollcheck_confirm(reruns=, backoff=)`: what it sets, None for what it leaves to the settings."""
    marker = item.get_closest_marker("rollcheck_confirm")
    if marker is None:
        return None, None
    unknown = set(marker.kwargs) - {"reruns", "backoff"}
    if marker.args or unknown:
        raise pytest.UsageError(
            f"{item.nodeid}: @pytest.mark.rollcheck_confirm takes the keywords reruns and backoff only "
            f"(got {marker.args!r} {sorted(unknown)!r})"
        )
    reruns, backoff = marker.kwargs.get("reruns"), marker.kwargs.get("backoff")
    return (
        None if reruns is None else int(_marker_number(item, "reruns", reruns, whole=True, most=MAX_RERUNS)),
        None if backoff is None else _marker_number(item, "backoff", backoff, whole=False, most=MAX_BACKOFF),
    )
