"""Every bad value names the option as the user wrote it, the value, where it came from, and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollcheck import ConfigError
from rollcheck.settings import OPTIONS
from rollcheck.settings import OPTIONS_BY_NAME
from rollcheck.settings import SECRET_URL_FILES
from rollcheck.settings import ConfigFile
from rollcheck.settings import Kind
from rollcheck.settings import Settings
from rollcheck.settings import resolve
from rollcheck.settings import with_marker_overrides

# One bad value per option, written as a string (as on a command line or in a variable), and the problem.
BAD: dict[str, tuple[str, str]] = {
    "target": ("shop", "expected KIND/NAME"),
    "namespace": ("Bad_NS", "namespace name"),
    "kubeconfig": ("/nonexistent/kubeconfig", "no such file"),
    "context": ("", "must not be empty"),
    "helm": ("", "must not be empty"),
    "base_url": ("shop.example", "http:// or https://"),
    "health_paths": ("health", "must be a URL path"),
    "health_attempts": ("0", "1 or more"),
    "health_failures": ("x", "whole number"),
    "health_interval": ("5x", "must be a duration"),
    "http_timeout": ("0", "longer than 0s"),
    "tls_verify": ("maybe", "true or false"),
    "ca_file": ("/nonexistent/ca.pem", "no such file"),
    "prometheus_url": ("ftp://prom", "http:// or https://"),
    "selector": ("app=shop", "PromQL label matchers"),
    "window": ("-1m", "must be a duration"),
    "max_error_rate": ("abc", "must be a number between 0 and 1"),
    "max_p99_latency": ("fast", "must be a duration"),
    "min_requests": ("-1", "whole number"),
    "watch": ("soon", "must be a duration"),
    "interval": ("500ms", "at least 1s"),
    "failure_limit": ("0", "1 or more"),
    "consecutive_failure_limit": ("two", "whole number"),
    "inconclusive_limit": ("-3", "1 or more"),
    "error_rate_query": ("{oops}", "unknown placeholder"),
    "requests_query": ("x{", "not a valid template"),
    "p99_query": ("{0}", "not a valid template"),
    "baseline": ("yesterday", "must be one of off, previous-pods, before-rollout"),
    "baseline_confidence": ("1", "between 0 and 1, exclusive"),
    "baseline_tolerance": ("-0.1", "0 or more"),
    "baseline_direction": ("up", "must be one of increase, decrease, either"),
    "baseline_step": ("0s", "longer than 0s"),
    "baseline_min_samples": ("0", "1 or more"),
    "baseline_selector": ("version=v1", "PromQL label matchers"),
    "rollback": ("maybe", "true or false"),
    "dry_run": ("perhaps", "true or false"),
    "expect_images": ("shop v2", "image reference"),
    "rollout_timeout": ("soon", "must be a duration"),
    "check_timeout": ("0s", "longer than 0s"),
    "confirm_reruns": ("-1", "whole number"),
    "confirm_backoff": ("later", "must be a duration"),
    "report_dir": (__file__, "is a file, not a directory"),
    "on_inconclusive": ("ignore", "must be one of fail, rollback, pass"),
    "require_rollback_ready": ("sometimes", "true or false"),
    "notify_on": ("sometimes", "must be one of rollback, failure, always, never"),
    "notify_slack_url": ("hooks.slack.com/services/x", "http:// or https://"),
    "notify_slack_url_file": ("/nonexistent/slack-url", "no such file"),
    "notify_wecom_url": ("qyapi.weixin.qq.com/send?key=x", "http:// or https://"),
    "notify_wecom_url_file": ("/nonexistent/wecom-url", "no such file"),
    "notify_webhook_url": ("ftp://hooks.example", "http:// or https://"),
    "notify_webhook_url_file": ("/nonexistent/webhook-url", "no such file"),
}

NOT_EMPTY = [name for name in BAD if BAD[name][0]]  # an empty variable means "unset", so it cannot be wrong
WITH_VALUES = [option.name for option in OPTIONS if option.kind in {Kind.VALUE, Kind.REPEATABLE}]
PER_CHECK = [option.name for option in OPTIONS if option.per_check]


def test_every_option_has_a_bad_value() -> None:
    assert set(BAD) == set(OPTIONS_BY_NAME)


def _assert_names(error: ConfigError, option: str, value: object, source: str, problem: str) -> None:
    if option.lower().replace("-", "_").endswith(tuple(SECRET_URL_FILES)):
        value = "<hidden>"  # a secret URL is never shown, not even a wrong one
    assert (error.option, error.value, error.source) == (option, value, source)
    assert problem in error.problem
    assert str(error).startswith(f"{option}={value!r} (from {source}): ")


@pytest.mark.parametrize("name", NOT_EMPTY)
def test_environment_errors_name_the_variable(name: str) -> None:
    raw, problem = BAD[name]
    variable = OPTIONS_BY_NAME[name].env_var
    with pytest.raises(ConfigError) as caught:
        resolve(cli={}, environ={variable: raw}, config_file=None)
    _assert_names(caught.value, variable, raw, "environment", problem)


@pytest.mark.parametrize("name", WITH_VALUES)
@pytest.mark.parametrize("prefix", ["--", "--rollcheck-"])
def test_command_line_errors_name_the_flag(name: str, prefix: str) -> None:
    option = OPTIONS_BY_NAME[name]
    raw, problem = BAD[name]
    given: object = [raw] if option.kind is Kind.REPEATABLE else raw
    with pytest.raises(ConfigError) as caught:
        resolve(cli={name: given}, environ={}, config_file=None, cli_prefix=prefix)
    _assert_names(caught.value, prefix + option.flag, given, "command line", problem)


@pytest.mark.parametrize("name", NOT_EMPTY)
@pytest.mark.parametrize("dashed", [True, False])
def test_config_file_errors_name_the_key_and_the_file(tmp_path: Path, name: str, dashed: bool) -> None:
    raw, problem = BAD[name]
    key = OPTIONS_BY_NAME[name].config_key if dashed else name
    config = ConfigFile(path=tmp_path / "pyproject.toml", table={key: raw}, section="[tool.rollcheck]")
    with pytest.raises(ConfigError) as caught:
        resolve(cli={}, environ={}, config_file=config)
    _assert_names(caught.value, key, raw, f"{tmp_path / 'pyproject.toml'} [tool.rollcheck]", problem)


@pytest.mark.parametrize("name", PER_CHECK)
def test_marker_errors_name_the_keyword_and_the_test(name: str) -> None:
    raw, problem = BAD[name]
    where = "marker on checks/test_x.py::test_y"
    with pytest.raises(ConfigError) as caught:
        with_marker_overrides(Settings(), {name: raw}, where)
    _assert_names(caught.value, name, raw, where, problem)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ([0.1], "expected a single value, not a list"),
        ({"a": 1}, "expected a single value, not a table"),
        (True, "between 0 and 1"),
    ],
)
def test_wrong_toml_types_are_errors(tmp_path: Path, raw: object, problem: str) -> None:
    config = ConfigFile(path=tmp_path / "rollcheck.toml", table={"max-error-rate": raw}, section=None)
    with pytest.raises(ConfigError, match=problem):
        resolve(cli={}, environ={}, config_file=config)


def test_a_list_item_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    config = ConfigFile(path=tmp_path / "rollcheck.toml", table={"health-paths": ["/a", 5]}, section=None)
    with pytest.raises(ConfigError, match=r"item 2 \(5\) must be a string"):
        resolve(cli={}, environ={}, config_file=config)


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [("max-eror-rate", "'max-error-rate'"), ("max_eror_rate", "'max_error_rate'"), ("helth-paths", "'health-paths'")],
)
def test_an_unknown_file_key_suggests_the_closest(tmp_path: Path, key: str, suggestion: str) -> None:
    config = ConfigFile(path=tmp_path / "pyproject.toml", table={key: 0.1}, section="[tool.rollcheck]")
    with pytest.raises(ConfigError) as caught:
        resolve(cli={}, environ={}, config_file=config)
    assert caught.value.option == key
    assert caught.value.problem == f"is not a rollcheck option; did you mean {suggestion}?"


def test_an_unknown_key_without_a_close_match_points_to_the_help(tmp_path: Path) -> None:
    config = ConfigFile(path=tmp_path / "rollcheck.toml", table={"zzz": 1}, section=None)
    with pytest.raises(ConfigError, match="rollcheck run --help"):
        resolve(cli={}, environ={}, config_file=config)


def test_a_key_given_twice_is_an_error(tmp_path: Path) -> None:
    config = ConfigFile(
        path=tmp_path / "x.toml", table={"window": 10, "max-error-rate": 0.1, "max_error_rate": 0.2}, section=None
    )
    with pytest.raises(ConfigError, match=r"given twice \(also as max-error-rate\)"):
        resolve(cli={}, environ={}, config_file=config)


def test_more_failures_than_attempts_blames_the_flag_that_set_failures() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve(cli={"health_failures": "6"}, environ={}, config_file=None)
    assert caught.value.option == "--health-failures"
    assert caught.value.problem == "must not exceed the health attempts (5, from default)"


def test_too_few_attempts_blames_the_source_that_set_attempts(tmp_path: Path) -> None:
    config = ConfigFile(path=tmp_path / "rollcheck.toml", table={"health-failures": 4}, section=None)
    with pytest.raises(ConfigError) as caught:
        resolve(cli={}, environ={"ROLLCHECK_HEALTH_ATTEMPTS": "2"}, config_file=config)
    assert (caught.value.option, caught.value.source) == ("ROLLCHECK_HEALTH_ATTEMPTS", "environment")
    assert (
        caught.value.problem
        == f"must be at least the health failures (4, from health-failures in {tmp_path / 'rollcheck.toml'})"
    )


def test_credentials_in_a_url_never_reach_the_message() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve(cli={}, environ={"ROLLCHECK_PROMETHEUS_URL": "https://admin:hunter2@prom.example"}, config_file=None)
    assert "hunter2" not in str(caught.value)
    assert "https://***@prom.example" in str(caught.value)
