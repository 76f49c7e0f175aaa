"""Value parsers for the options: each turns what a user wrote into a typed value, or raises ValueError.

A parser's ValueError message is only the problem ("must be a number between 0 and 1"); the resolver adds
the option, the value and where it came from. Every parser accepts what any source can hold: a string (flags,
environment), a TOML scalar or array (config files), or a Python value (markers).
"""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ..target._ref import TargetKind
from ..target._ref import TargetRef
from ._model import BaselineMode
from ._model import Direction
from ._model import NotifyOn
from ._model import OnInconclusive

__all__ = [
    "format_duration",
    "parse_baseline_mode",
    "parse_bool",
    "parse_confidence",
    "parse_count",
    "parse_direction",
    "parse_duration",
    "parse_fraction",
    "parse_health_path",
    "parse_image",
    "parse_interval",
    "parse_namespace",
    "parse_notify_on",
    "parse_on_inconclusive",
    "parse_path",
    "parse_positive_count",
    "parse_positive_duration",
    "parse_query_template",
    "parse_secret_url",
    "parse_selector",
    "parse_target",
    "parse_text",
    "parse_tolerance",
    "parse_url",
    "sequence_of",
]

T = TypeVar("T")

_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
# Units must come largest first and at most once each, so "1m1h" or "1s1s" are typos, not 3660s and 2s.
_DURATION = re.compile(
    r"(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m(?!s))?(?:(?P<s>\d+(?:\.\d+)?)s)?(?:(?P<ms>\d+(?:\.\d+)?)ms)?"
)
_DURATION_PROBLEM = "must be a duration such as 90s, 1m30s, 500ms or 2h (a bare number means seconds)"

_TRUE = frozenset({"1", "true", "yes"})
_FALSE = frozenset({"0", "false", "no"})

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_PROMQL_STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`'
_MATCHER = rf"\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|=)\s*(?:{_PROMQL_STRING})\s*"
_MATCHERS = re.compile(rf"{_MATCHER}(?:,{_MATCHER})*,?\s*")


def _scalar(raw: object) -> str | int | float | bool:
    """What every single-valued option starts from; a list or a table here is a mistake in a config file."""
    if isinstance(raw, str | int | float | bool):
        return raw
    if isinstance(raw, list | tuple):
        raise ValueError("expected a single value, not a list")
    if isinstance(raw, dict):
        raise ValueError("expected a single value, not a table")
    raise ValueError(f"expected a single value, not {type(raw).__name__}")


def parse_text(raw: object) -> str:
    value = _scalar(raw)
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def _number(raw: object, problem: str) -> float:
    value = _scalar(raw)
    # bool is an int in Python, but `max-error-rate = true` is a mistake, not 1.0.
    if isinstance(value, bool):
        raise ValueError(problem)
    try:
        number = float(value)
    except ValueError:
        raise ValueError(problem) from None
    if not math.isfinite(number):
        raise ValueError(problem)
    return number


def parse_fraction(raw: object) -> float:
    problem = "must be a number between 0 and 1"
    number = _number(raw, problem)
    if not 0.0 <= number <= 1.0:
        raise ValueError(problem)
    return number


def parse_confidence(raw: object) -> float:
    problem = "must be a number between 0 and 1, exclusive, such as 0.95"
    number = _number(raw, problem)
    if not 0.0 < number < 1.0:
        raise ValueError(problem)
    return number


def parse_tolerance(raw: object) -> float:
    problem = "must be a relative change of 0 or more, such as 0.1 for 10%"
    number = _number(raw, problem)
    if number < 0:
        raise ValueError(problem)
    return number


def _whole_number(raw: object, problem: str) -> int:
    value = _scalar(raw)
    if isinstance(value, bool | float):
        raise ValueError(problem)
    try:
        return int(value)
    except ValueError:
        raise ValueError(problem) from None


def parse_count(raw: object) -> int:
    problem = "must be a whole number, 0 or more"
    count = _whole_number(raw, problem)
    if count < 0:
        raise ValueError(problem)
    return count


def parse_positive_count(raw: object) -> int:
    problem = "must be a whole number, 1 or more"
    count = _whole_number(raw, problem)
    if count < 1:
        raise ValueError(problem)
    return count


def parse_duration(raw: object) -> float:
    """Seconds, from `90s`, `1m`, `1m30s`, `500ms`, `2h`, `1.5h`, or a bare number of seconds."""
    value = _scalar(raw)
    if isinstance(value, bool):
        raise ValueError(_DURATION_PROBLEM)
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = value.strip().lower()
        match = _DURATION.fullmatch(text)
        if match and text:
            seconds = sum(float(amount) * _UNIT_SECONDS[unit] for unit, amount in match.groupdict().items() if amount)
        else:
            seconds = _number(text, _DURATION_PROBLEM)
    if not math.isfinite(seconds):
        raise ValueError(_DURATION_PROBLEM)
    if seconds < 0:
        raise ValueError("must not be negative")
    return seconds


def parse_positive_duration(raw: object) -> float:
    seconds = parse_duration(raw)
    if seconds == 0:
        raise ValueError("must be longer than 0s")
    return seconds


def parse_interval(raw: object) -> float:
    """A watch interval: every round queries Prometheus, so anything under a second is a mistake."""
    seconds = parse_duration(raw)
    if seconds < 1:
        raise ValueError("must be at least 1s (each round queries Prometheus; a few scrape intervals is sensible)")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest text parse_duration reads back as the same number of milliseconds: `1m30s`, `500ms`."""
    total_ms = round(seconds * 1000)
    if total_ms < 1000:
        return f"{total_ms}ms"
    hours, rest_ms = divmod(total_ms, 3_600_000)
    minutes, rest_ms = divmod(rest_ms, 60_000)
    whole_seconds, ms = divmod(rest_ms, 1000)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    if ms:
        text += f"{whole_seconds}.{ms:03d}".rstrip("0") + "s"
    elif whole_seconds:
        text += f"{whole_seconds}s"
    return text


def parse_bool(raw: object) -> bool:
    value = _scalar(raw)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("must be true or false (1/0, yes/no also work)")


def parse_path(raw: object) -> Path:
    text = parse_text(raw)
    try:
        return Path(text).expanduser()
    except RuntimeError:  # `~name` for a user who does not exist (or no home directory at all)
        raise ValueError(f"starts with {text.split('/', 1)[0]}, but there is no such user's home directory") from None


def parse_url(raw: object) -> str:
    """An http(s) URL without credentials (they belong in ROLLCHECK_PROMETHEUS_* variables, never in a URL)."""
    text = parse_text(raw)
    try:
        parts = urllib.parse.urlsplit(text)
        _ = parts.port  # raises ValueError on a port that is not a number
    except ValueError as error:
        raise ValueError(f"is not a valid URL ({error})") from None
    if parts.scheme not in {"http", "https"}:
        raise ValueError("must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("must name a host, for example https://prometheus.example:9090")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "must not contain credentials; set ROLLCHECK_PROMETHEUS_TOKEN or "
            "ROLLCHECK_PROMETHEUS_USERNAME and ROLLCHECK_PROMETHEUS_PASSWORD instead"
        )
    return text.rstrip("/")


def parse_secret_url(raw: object) -> str:
    """A notification URL. It carries a secret, so no problem quotes any part of it."""
    try:
        return parse_url(raw)
    except ValueError:
        raise ValueError(
            "must be an http:// or https:// URL naming a host, without user:password@ (the value is hidden)"
        ) from None


def parse_health_path(raw: object) -> str:
    text = parse_text(raw)
    if not text.startswith("/") or any(char.isspace() for char in text):
        raise ValueError("must be a URL path starting with /, for example /health")
    return text


def parse_image(raw: object) -> str:
    text = parse_text(raw)
    if any(char.isspace() for char in text):
        raise ValueError("must be an image reference such as registry.example/shop:v2")
    return text


def parse_namespace(raw: object) -> str:
    text = parse_text(raw)
    if not _DNS_LABEL.fullmatch(text):
        raise ValueError("must be a Kubernetes namespace name (lower case letters, digits and '-', at most 63)")
    return text


#: The kinds with a rollback engine; the others are recognised so the message can say they are not there yet.
SUPPORTED_KINDS = (TargetKind.DEPLOYMENT, TargetKind.STATEFULSET, TargetKind.DAEMONSET, TargetKind.HELM)


def parse_target(raw: object) -> TargetRef:
    target = TargetRef.parse(parse_text(raw))
    if target.kind not in SUPPORTED_KINDS:
        supported = ", ".join(kind.value for kind in SUPPORTED_KINDS)
        raise ValueError(f"{target.kind.value} targets are not supported yet; supported kinds: {supported}")
    return target


def parse_selector(raw: object) -> str:
    """PromQL label matchers, `app="shop",pod=~"shop-.*"`; surrounding braces are accepted and dropped."""
    text = parse_text(raw)
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if not _MATCHERS.fullmatch(text):
        raise ValueError('must be PromQL label matchers such as app="shop",pod=~"shop-.*"')
    return text.rstrip(", ")


def parse_query_template(raw: object) -> str:
    """A PromQL template; it is filled in with str.format, so literal braces are written `{{` and `}}`."""
    text = parse_text(raw)
    try:
        text.format(selector='app="x"', window="60s")
    except KeyError as error:
        raise ValueError(
            f"uses the unknown placeholder {{{error.args[0]}}}; only {{selector}} and {{window}} are filled in "
            "(write a literal brace as {{ or }})"
        ) from None
    except (ValueError, IndexError, AttributeError) as error:
        raise ValueError(f"is not a valid template ({error}); write a literal brace as {{{{ or }}}}") from None
    return text


def parse_on_inconclusive(raw: object) -> OnInconclusive:
    text = parse_text(raw).lower()
    try:
        return OnInconclusive(text)
    except ValueError:
        raise ValueError(f"must be one of {', '.join(choice.value for choice in OnInconclusive)}") from None


def parse_baseline_mode(raw: object) -> BaselineMode:
    text = parse_text(raw).lower()
    try:
        return BaselineMode(text)
    except ValueError:
        raise ValueError(f"must be one of {', '.join(choice.value for choice in BaselineMode)}") from None


def parse_direction(raw: object) -> Direction:
    text = parse_text(raw).lower()
    try:
        return Direction(text)
    except ValueError:
        raise ValueError(f"must be one of {', '.join(choice.value for choice in Direction)}") from None


def parse_notify_on(raw: object) -> NotifyOn:
    text = parse_text(raw).lower()
    try:
        return NotifyOn(text)
    except ValueError:
        raise ValueError(f"must be one of {', '.join(choice.value for choice in NotifyOn)}") from None


def sequence_of(parse_item: Callable[[object], T]) -> Callable[[object], tuple[T, ...]]:
    """A list option: a TOML array or Python sequence item by item, or a comma-separated string."""

    def parse(raw: object) -> tuple[T, ...]:
        if isinstance(raw, str):
            items: list[object] = [item for item in raw.split(",") if item.strip()]
        elif isinstance(raw, list | tuple):
            items = list(raw)
        else:
            raise ValueError("expected a list (or a comma-separated string)")
        parsed: list[T] = []
        for position, item in enumerate(items, start=1):
            try:
                parsed.append(parse_item(item))
            except ValueError as error:
                raise ValueError(f"item {position} ({item!r}) {error}") from None
        return tuple(parsed)

    return parse
