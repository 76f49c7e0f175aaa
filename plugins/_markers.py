"""rollcheck's markers, and how a check's category, severity and gating are read from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import pytest

from rollcheck.record import CheckCategory
from rollcheck.record import Severity

__all__ = ["MARKERS", "CheckKind", "check_kind", "check_kind_or_default"]

_Choice = TypeVar("_Choice", CheckCategory, Severity)

MARKERS = (
    "rollcheck_check(category='custom', severity='critical'): a gating check of this category "
    "(health, rollout, error_rate, latency, custom); a failure makes the release fail",
    "rollcheck_advisory(severity='warning', category='custom'): an advisory check: reported, "
    "never a reason to roll back",
    "rollcheck_settings(**overrides): per-check settings, for example max_error_rate=0.05 (beats every other source)",
)


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


def check_kind_or_default(item: pytest.Item) -> CheckKind:
    """For hooks that must not raise (reporting): a bad marker is reported as the check's own error instead."""
    try:
        return check_kind(item)
    except pytest.UsageError:
        return DEFAULT_KIND
