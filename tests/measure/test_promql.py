"""PromQL building: escaping (proved with hypothesis against a reference tokenizer), matchers, templates."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st

from rollcheck.measure import default_selector
from rollcheck.measure import duration
from rollcheck.measure import escape_label_value
from rollcheck.measure import label_matchers
from rollcheck.measure import regex_literal
from rollcheck.measure import render
from rollcheck.target import Release
from rollcheck.target import TargetRef

# Go string-literal escapes as Prometheus' lexer accepts them inside double quotes (promql/parser/lex.go).
_SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"'}
_HEX_DIGITS = {"x": 2, "u": 4, "U": 8}


def _read_string(text: str, start: int) -> tuple[str, int]:
    """A reference reader of one double-quoted PromQL string starting at text[start] == '"'.

    Returns the value and the index after the closing quote. Raises ValueError where Prometheus' lexer would
    report an error (raw newline, raw U+FFFD, unknown or short escapes, end of input). Octal escapes,
    which escape_label_value never writes, count as unknown here.
    """
    assert text[start] == '"'
    out: list[str] = []
    i = start + 1
    while True:
        if i >= len(text):
            raise ValueError("unterminated quoted string")
        char = text[i]
        if char == '"':
            return "".join(out), i + 1
        if char in ("\n", "\ufffd"):
            raise ValueError(f"{char!r} is not allowed raw in a quoted string")
        if char != "\\":
            out.append(char)
            i += 1
            continue
        kind = text[i + 1 : i + 2]
        if kind in _SIMPLE:
            out.append(_SIMPLE[kind])
            i += 2
        elif kind in _HEX_DIGITS:
            digits = text[i + 2 : i + 2 + _HEX_DIGITS[kind]]
            if len(digits) != _HEX_DIGITS[kind] or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise ValueError(f"bad \\{kind} escape")
            out.append(chr(int(digits, 16)))
            i += 2 + len(digits)
        else:
            raise ValueError(f"unknown escape sequence \\{kind}")


def _read_matchers(text: str) -> list[tuple[str, str, str]]:
    """Split `a="x",b=~"y"` into (name, operator, value), reading every value with the reference reader."""
    matchers = []
    i = 0
    while i < len(text):
        start = i
        while i < len(text) and (text[i].isascii() and (text[i].isalnum() or text[i] == "_")):
            i += 1
        name = text[start:i]
        operator = "=~" if text.startswith("=~", i) else "="
        assert text.startswith(operator, i), f"expected an operator at {i} in {text!r}"
        value, i = _read_string(text, i + len(operator))
        matchers.append((name, operator, value))
        if i < len(text):
            assert text[i] == ",", f"expected a comma after a matcher at {i} in {text!r}"
            i += 1
    return matchers


label_values = st.text(st.characters(exclude_categories=("Cs",)))
label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,10}", fullmatch=True)


@given(label_values)
@example('a"}or vector(1)#')
@example("\\")
@example('\\"')
@example("line\nbreak")
@example("\ufffd")
@example("\x00\x7f")
def test_any_value_reads_back_as_exactly_one_string(value: str) -> None:
    quoted = f'"{escape_label_value(value)}"'
    read, end = _read_string(quoted, 0)
    assert read == value
    assert end == len(quoted), "the value must not end the string early"


@given(st.dictionaries(label_names, label_values, max_size=4), st.dictionaries(label_names, label_values, max_size=3))
def test_matchers_split_back_into_the_same_pairs(equal: dict[str, str], regex: dict[str, str]) -> None:
    expected = [(k, "=", v) for k, v in equal.items()] + [(k, "=~", v) for k, v in regex.items()]
    assert _read_matchers(label_matchers(equal, regex)) == expected


def test_label_matchers_reads_like_promql() -> None:
    assert label_matchers({"namespace": "prod"}, {"pod": "shop-7d9f-.*"}) == 'namespace="prod",pod=~"shop-7d9f-.*"'


@pytest.mark.parametrize("name", ["", "1abc", "a-b", 'a"', "a}or", "ünïcode"])
def test_label_names_are_validated(name: str) -> None:
    with pytest.raises(ValueError, match="not a Prometheus label name"):
        label_matchers({name: "x"})


def test_lone_surrogates_are_refused() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        escape_label_value("a\ud800")


def test_regex_literal_escapes_re2_metacharacters() -> None:
    assert regex_literal("shop.v2-7d9f") == "shop\\.v2-7d9f"
    assert regex_literal("a+b(c)") == "a\\+b\\(c\\)"


@pytest.mark.parametrize(
    ("seconds", "expected"), [(60, "60s"), (60.0, "60s"), (1.5, "1500ms"), (0.001, "1ms"), (3600, "3600s")]
)
def test_duration(seconds: float, expected: str) -> None:
    assert duration(seconds) == expected


@pytest.mark.parametrize("seconds", [0, -1, float("nan"), float("inf"), 0.0001])
def test_duration_refuses_unusable_windows(seconds: float) -> None:
    with pytest.raises(ValueError, match="window"):
        duration(seconds)


def test_render_fills_selector_and_window_and_keeps_literal_braces() -> None:
    template = 'sum(increase(http_requests_total{{{selector},code=~"5.."}}[{window}]))'
    assert render(template, selector='namespace="prod"', window_seconds=60) == (
        'sum(increase(http_requests_total{namespace="prod",code=~"5.."}[60s]))'
    )


def test_render_leaves_braces_in_the_selector_alone() -> None:
    assert render("x{{{selector}}}", selector='a="{window}"', window_seconds=5) == 'x{a="{window}"}'


@pytest.mark.parametrize("template", ["x{{{selector}}}[{windw}]", "{selector.__class__}", "x{selector", "{0}"])
def test_render_names_unknown_placeholders(template: str) -> None:
    with pytest.raises(ValueError, match="only \\{selector\\} and \\{window\\}"):
        render(template, selector="a", window_seconds=60)


def _release(name: str, template_hash: str | None, namespace: str = "prod") -> Release:
    return Release(
        target=TargetRef.parse(f"deployment/{name}"),
        namespace=namespace,
        revision=3,
        images=("shop:v2",),
        version="v2",
        rollout_completed_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        template_hash=template_hash,
    )


def test_default_selector_selects_the_newest_replicaset_pods() -> None:
    assert default_selector(_release("shop", "7d9f5c")) == 'namespace="prod",pod=~"shop-7d9f5c-.*"'


def test_default_selector_falls_back_to_the_workloads_pods() -> None:
    assert default_selector(_release("shop", None)) == 'namespace="prod",pod=~"shop-.*"'


def test_default_selector_escapes_dots_in_names() -> None:
    assert default_selector(_release("shop.v2", "abc")) == 'namespace="prod",pod=~"shop\\\\.v2-abc-.*"'
