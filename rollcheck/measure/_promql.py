"""Building PromQL from templates and values without string concatenation: every label value is escaped.

A label value taken from the cluster or the command line is inserted as one double-quoted PromQL string, so
no value can close the string and add matchers or operators (`a"}or vector(1)#` stays one value).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from ..target._release import Release

__all__ = ["default_selector", "duration", "escape_label_value", "label_matchers", "regex_literal", "render"]

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# Named escapes keep the common control characters readable; every other one becomes \xHH.
_NAMED_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Prometheus' lexer rejects a literal U+FFFD as an "invalid UTF-8 rune", so it goes in as an escape.
_REPLACEMENT_CHARACTER = "\ufffd"
# RE2 metacharacters: pod names may contain dots, which must not match any character.
_REGEX_META = frozenset("\\.+*?()|[]{}^$")
# In a template: doubled braces, a {placeholder}, or a lone brace (an error, as in str.format).
_TEMPLATE_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def escape_label_value(value: str) -> str:
    """`value` as the inside of a double-quoted PromQL string (Go string-literal escaping).

    Backslash, double quote and newline are what could end or break the string; other control characters
    and U+FFFD are escaped too, because Prometheus' lexer rejects them raw or the escape is clearer.
    Raises ValueError for lone surrogates, which are not Unicode text and cannot be a label value.
    """
    out: list[str] = []
    for char in value:
        code = ord(char)
        if char in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif char == _REPLACEMENT_CHARACTER:
            out.append("\\ufffd")
        elif 0xD800 <= code <= 0xDFFF:
            raise ValueError(f"label value {value!r} contains a lone surrogate, which is not valid Unicode")
        else:
            out.append(char)
    return "".join(out)


def regex_literal(text: str) -> str:
    """`text` as an RE2 pattern matching exactly itself (before PromQL string escaping)."""
    return "".join(f"\\{char}" if char in _REGEX_META else char for char in text)


def _check_label_name(name: str) -> str:
    if not _LABEL_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)")
    return name


def label_matchers(mapping: Mapping[str, str], regex: Mapping[str, str] | None = None) -> str:
    """Comma-separated matchers, `namespace="prod",pod=~"shop-7d9f-.*"`: equality first, then regex.

    Values are escaped; names are validated (ValueError), since a name cannot be quoted.
    """
    parts = [f'{_check_label_name(name)}="{escape_label_value(value)}"' for name, value in mapping.items()]
    parts += [f'{_check_label_name(name)}=~"{escape_label_value(value)}"' for name, value in (regex or {}).items()]
    return ",".join(parts)


def duration(seconds: float) -> str:
    """A Prometheus duration: `60s`, or `1500ms` when the window is not whole seconds."""
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"a window must be a positive number of seconds, not {seconds!r}")
    millis = round(seconds * 1000)
    if millis == 0:
        raise ValueError(f"a window of {seconds!r}s is shorter than Prometheus' 1ms resolution")
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


def render(template: str, *, selector: str, window_seconds: float) -> str:
    """Fill `{selector}` and `{window}` in a query template. Literal braces are doubled, as with `str.format`
    (`http_requests_total{{{selector}}}`), but nothing else of `str.format` applies: no attribute access or
    format specs, so a template cannot reach into Python objects. ValueError names anything unexpected."""
    values = {"selector": selector, "window": duration(window_seconds)}

    def fill(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        if name in values:
            return values[name]
        raise ValueError(
            f"query template {template!r} has {token!r} at {match.start()}; only {{selector}} and {{window}} "
            "are filled in (write literal braces as {{ and }})"
        )

    return _TEMPLATE_TOKEN.sub(fill, template)


def default_selector(release: Release) -> str:
    """Matchers for the series of the release's pods: its namespace, and the pods of its newest ReplicaSet.

    Pods of a Deployment are named `<deployment>-<pod-template-hash>-<suffix>`, so `pod=~"<name>-<hash>-.*"`
    selects the new ReplicaSet's pods only, not the old ones still draining. Without a template hash
    (StatefulSet, DaemonSet, Helm, or a release read before its ReplicaSet existed) it falls back to every
    pod of the workload, `pod=~"<name>-.*"` (which would also match a workload named `<name>-<more>`).

    This relies on the usual kubernetes_sd relabelling that copies `__meta_kubernetes_namespace` and
    `__meta_kubernetes_pod_name` to `namespace` and `pod` labels; set the selector explicitly otherwise.
    """
    name = release.target.name
    prefix = f"{name}-{release.template_hash}-" if release.template_hash else f"{name}-"
    return label_matchers({"namespace": release.namespace}, {"pod": f"{regex_literal(prefix)}.*"})
