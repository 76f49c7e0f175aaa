from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollcheck.settings import OnInconclusive
from rollcheck.settings._parse import format_duration
from rollcheck.settings._parse import parse_bool
from rollcheck.settings._parse import parse_count
from rollcheck.settings._parse import parse_duration
from rollcheck.settings._parse import parse_fraction
from rollcheck.settings._parse import parse_health_path
from rollcheck.settings._parse import parse_namespace
from rollcheck.settings._parse import parse_on_inconclusive
from rollcheck.settings._parse import parse_path
from rollcheck.settings._parse import parse_positive_count
from rollcheck.settings._parse import parse_positive_duration
from rollcheck.settings._parse import parse_query_template
from rollcheck.settings._parse import parse_selector
from rollcheck.settings._parse import parse_target
from rollcheck.settings._parse import parse_url
from rollcheck.settings._parse import sequence_of
from rollcheck.target import TargetKind


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("1m", 60),
        ("1m30s", 90),
        ("500ms", 0.5),
        ("2h", 7200),
        ("1.5h", 5400),
        ("1h2m3s4ms", 3723.004),
        ("90", 90),
        ("0.25", 0.25),
        (" 2M ", 120),
        (45, 45),
        (1.5, 1.5),
        ("0", 0),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("junk", ["", "1m1h", "1s1s", "5x", "m", "1.5.2s", "-1", "-1s", "inf", "nan", "1e400", True])
def test_bad_durations_are_value_errors(junk: object) -> None:
    with pytest.raises(ValueError, match=r"duration|negative"):
        parse_duration(junk)


def test_a_zero_window_is_refused() -> None:
    with pytest.raises(ValueError, match="longer than 0s"):
        parse_positive_duration("0s")


@given(
    hours=st.integers(0, 48),
    minutes=st.integers(0, 59),
    seconds=st.integers(0, 59),
    millis=st.integers(0, 999),
)
def test_generated_durations_parse_to_their_sum(hours: int, minutes: int, seconds: int, millis: int) -> None:
    parts = [(hours, "h"), (minutes, "m"), (seconds, "s"), (millis, "ms")]
    text = "".join(f"{amount}{unit}" for amount, unit in parts if amount) or "0s"
    expected = hours * 3600 + minutes * 60 + seconds + millis / 1000
    assert math.isclose(parse_duration(text), expected, abs_tol=1e-9)


@given(st.integers(0, 10**9))
def test_format_duration_round_trips(milliseconds: int) -> None:
    text = format_duration(milliseconds / 1000)
    assert math.isclose(parse_duration(text), milliseconds / 1000, abs_tol=1e-9)


@given(st.one_of(st.text(), st.integers(), st.floats(), st.booleans(), st.lists(st.text()), st.none()))
def test_junk_durations_raise_only_value_error(junk: object) -> None:
    try:
        seconds = parse_duration(junk)
    except ValueError:
        return
    assert seconds >= 0
    assert math.isfinite(seconds)


@pytest.mark.parametrize(
    ("seconds", "text"), [(90, "1m30s"), (0.5, "500ms"), (7200, "2h"), (1.25, "1.25s"), (0, "0ms")]
)
def test_format_duration_reads_like_a_person_wrote_it(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(("raw", "expected"), [("0.05", 0.05), (0, 0.0), (1, 1.0), ("1e-3", 0.001)])
def test_fractions(raw: object, expected: float) -> None:
    assert parse_fraction(raw) == expected


@pytest.mark.parametrize("raw", ["abc", "2", -0.1, True, "nan", [0.1], {"a": 1}])
def test_bad_fractions(raw: object) -> None:
    with pytest.raises(ValueError, match=r"between 0 and 1|single value"):
        parse_fraction(raw)


def test_a_list_where_a_value_belongs_says_so() -> None:
    with pytest.raises(ValueError, match="expected a single value, not a list"):
        parse_fraction([0.1])


@pytest.mark.parametrize(("raw", "expected"), [("20", 20), (0, 0), (" 7 ", 7)])
def test_counts(raw: object, expected: int) -> None:
    assert parse_count(raw) == expected


@pytest.mark.parametrize("raw", ["-1", "1.5", 2.0, True, "many"])
def test_bad_counts(raw: object) -> None:
    with pytest.raises(ValueError, match="whole number"):
        parse_count(raw)


def test_positive_counts_refuse_zero() -> None:
    with pytest.raises(ValueError, match="1 or more"):
        parse_positive_count("0")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("yes", True),
        ("TRUE", True),
        ("0", False),
        ("no", False),
        ("false", False),
        (True, True),
        (0, False),
    ],
)
def test_booleans(raw: object, expected: bool) -> None:
    assert parse_bool(raw) is expected


@pytest.mark.parametrize("raw", ["maybe", "2", "", 1.0])
def test_bad_booleans(raw: object) -> None:
    with pytest.raises(ValueError, match=r"true or false|empty"):
        parse_bool(raw)


def test_urls_keep_scheme_host_and_path_without_a_trailing_slash() -> None:
    assert parse_url("https://prometheus.example:9090/prom/") == "https://prometheus.example:9090/prom"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("prometheus.example", "http:// or https://"),
        ("ftp://x", "http:// or https://"),
        ("http://", "must name a host"),
        ("http://x:port", "not a valid URL"),
        ("https://user:hunter2@prom.example", "must not contain credentials"),
    ],
)
def test_bad_urls(raw: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        parse_url(raw)
    assert "hunter2" not in str(caught.value)


def test_paths_expand_the_home_directory() -> None:
    assert parse_path("~/kube/config") == Path.home() / "kube" / "config"


def test_health_paths_must_be_absolute_url_paths() -> None:
    assert parse_health_path("/ready") == "/ready"
    with pytest.raises(ValueError, match="starting with /"):
        parse_health_path("ready")


def test_namespaces_are_dns_labels() -> None:
    assert parse_namespace("shop-prod") == "shop-prod"
    with pytest.raises(ValueError, match="namespace name"):
        parse_namespace("Shop_Prod")


def test_targets_use_kubectl_short_kinds() -> None:
    target = parse_target("deploy/shop")
    assert (target.kind, target.name) == (TargetKind.DEPLOYMENT, "shop")
    with pytest.raises(ValueError, match="KIND/NAME"):
        parse_target("shop")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('app="shop"', 'app="shop"'),
        ('{app="shop", pod=~"shop-.*"}', 'app="shop", pod=~"shop-.*"'),
        ("env!='dev',", "env!='dev'"),
        ('path!~"/a,b"', 'path!~"/a,b"'),
    ],
)
def test_selectors(raw: str, expected: str) -> None:
    assert parse_selector(raw) == expected


@pytest.mark.parametrize("raw", ["app=shop", 'app="shop"}', 'app="shop" or 1', '1app="x"', 'app=="x"'])
def test_bad_selectors(raw: str) -> None:
    with pytest.raises(ValueError, match="PromQL label matchers"):
        parse_selector(raw)


def test_query_templates_may_use_selector_window_and_escaped_braces() -> None:
    template = 'sum(rate(x{{{selector},code=~"5.."}}[{window}]))'
    assert parse_query_template(template) == template


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("rate(x{{{selector}}}[{range}])", r"unknown placeholder \{range\}"),
        ("x{", "not a valid template"),
        ("x{selector.name}", "not a valid template"),
        ("x{0}", "not a valid template"),
    ],
)
def test_bad_query_templates(raw: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_query_template(raw)


def test_on_inconclusive_choices() -> None:
    assert parse_on_inconclusive("Rollback") is OnInconclusive.ROLLBACK
    with pytest.raises(ValueError, match="one of fail, rollback, pass"):
        parse_on_inconclusive("ignore")


def test_sequences_take_comma_separated_strings_or_lists() -> None:
    parse = sequence_of(parse_health_path)
    assert parse("/health, /ready,") == ("/health", "/ready")
    assert parse(["/a,b"]) == ("/a,b",)
    with pytest.raises(ValueError, match=r"item 2 \('ready'\) must be a URL path"):
        parse("/health,ready")
    with pytest.raises(ValueError, match="expected a list"):
        parse(5)
