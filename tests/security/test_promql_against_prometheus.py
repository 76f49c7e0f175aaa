"""Label values rendered into a selector, read by the real Prometheus: `absent(...)` answers with exactly the
equality matchers it parsed, so any value that escaped its string (selector injection) would show as a
different label set, or as a parse error. Extends tests/measure/test_promql.py, which proves the same against a
reference tokenizer."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_settings import bounded

from localenv_support import LocalEnv
from rollcheck.measure import escape_label_value
from rollcheck.measure import label_matchers
from rollcheck.measure import regex_literal

# Prometheus keeps label values as UTF-8 text: any character but a lone surrogate. Names starting with `__`
# are Prometheus' own.
VALUES = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20)
NAMES = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,8}", fullmatch=True)


@pytest.fixture(scope="module")
def prometheus(localenv: LocalEnv) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=localenv.prometheus_url, timeout=10) as client:
        yield client


def _query(prometheus: httpx.Client, promql: str) -> list[dict[str, object]]:
    answer = prometheus.post("/api/v1/query", data={"query": promql}).json()
    assert answer["status"] == "success", f"{promql!r}: {answer.get('error')}"
    result: list[dict[str, object]] = answer["data"]["result"]
    return result


@bounded
@given(st.dictionaries(NAMES, VALUES, min_size=1, max_size=3))
@example({"pod": 'a"}or vector(1)#'})
@example({"pod": "\\", "namespace": '\\"'})
@example({"pod": "line\nbreak\ttab\x00nul\x7f\ufffd"})
@example({"pod": "'`"})
def test_prometheus_reads_exactly_the_intended_equality_matchers(
    prometheus: httpx.Client, labels: dict[str, str]
) -> None:
    [series] = _query(prometheus, f"absent(rollcheck_no_such_metric{{{label_matchers(labels)}}})")
    assert series["metric"] == labels


@bounded
@given(VALUES)
@example("shop.v2-(canary)|.*")
@example("[a-z]+$^\\")
def test_a_regex_literal_matches_exactly_its_own_text(prometheus: httpx.Client, text: str) -> None:
    # label_replace anchors its regex like a matcher does: `hit` is set only when the literal matches the value.
    def matches(value: str) -> bool:
        # The replacement expands $-references: `$$` writes the value's own dollar signs.
        probe = f'label_replace(vector(1), "probe", "{escape_label_value(value.replace("$", "$$"))}", "", "")'
        pattern = escape_label_value(regex_literal(text))
        [series] = _query(prometheus, f'label_replace({probe}, "hit", "yes", "probe", "{pattern}")')
        return series["metric"] == {"probe": value, "hit": "yes"}

    assert matches(text)
    assert not matches(text + "x")
    assert not matches("x" + text)
