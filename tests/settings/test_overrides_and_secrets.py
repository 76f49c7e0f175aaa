from __future__ import annotations

import base64

import pytest

from rollcheck import ConfigError
from rollcheck.settings import PrometheusAuth
from rollcheck.settings import Settings
from rollcheck.settings import insecure_warning
from rollcheck.settings import resolve
from rollcheck.settings import secrets_from_env
from rollcheck.settings import with_marker_overrides

WHERE = "marker on checks/test_x.py::test_y"


def test_marker_values_are_parsed_like_any_other_source() -> None:
    settings = with_marker_overrides(Settings(), {"window": "5m", "health_paths": ["/a"], "min_requests": 0}, WHERE)
    assert (settings.window, settings.health_paths, settings.min_requests) == (300.0, ("/a",), 0)


def test_no_overrides_give_the_same_settings() -> None:
    settings = Settings(namespace="shop")
    assert with_marker_overrides(settings, {}, WHERE) == settings


def test_a_session_wide_option_cannot_be_set_per_check() -> None:
    with pytest.raises(ConfigError) as caught:
        with_marker_overrides(Settings(), {"target": "deployment/other"}, WHERE)
    assert (caught.value.option, caught.value.source) == ("target", WHERE)
    assert "--target, ROLLCHECK_TARGET or target in [tool.rollcheck]" in caught.value.problem


def test_an_unknown_marker_keyword_suggests_the_closest() -> None:
    with pytest.raises(ConfigError) as caught:
        with_marker_overrides(Settings(), {"max_error_rat": 0.1}, WHERE)
    assert caught.value.problem == "is not a rollcheck option; did you mean 'max_error_rate'?"


def test_a_marker_that_breaks_a_combination_is_blamed() -> None:
    with pytest.raises(ConfigError) as caught:
        with_marker_overrides(Settings(), {"health_failures": 9}, WHERE)
    assert (caught.value.option, caught.value.source) == ("health_failures", WHERE)
    assert caught.value.problem == "must not exceed the health attempts (5, from the run's settings)"


def test_no_credentials_is_no_header() -> None:
    auth = secrets_from_env({})
    assert auth == PrometheusAuth()
    assert auth.headers() == {}


def test_a_token_is_a_bearer_header_and_its_repr_hides_it() -> None:
    auth = secrets_from_env({"ROLLCHECK_PROMETHEUS_TOKEN": "s3cret-token"})
    assert auth.headers() == {"Authorization": "Bearer s3cret-token"}
    assert "s3cret" not in repr(auth)
    assert "s3cret" not in str(auth)
    assert "s3cret" not in f"{[auth]}"
    assert "bearer token" in repr(auth)


def test_username_and_password_are_basic_auth() -> None:
    auth = secrets_from_env({"ROLLCHECK_PROMETHEUS_USERNAME": "ops", "ROLLCHECK_PROMETHEUS_PASSWORD": "hunter2"})
    assert auth.headers() == {"Authorization": "Basic " + base64.b64encode(b"ops:hunter2").decode()}
    assert "hunter2" not in repr(auth)
    assert "ops" not in repr(auth)


def test_a_password_without_a_username_names_the_missing_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        secrets_from_env({"ROLLCHECK_PROMETHEUS_PASSWORD": "hunter2"})
    assert caught.value.option == "ROLLCHECK_PROMETHEUS_USERNAME"
    assert "hunter2" not in str(caught.value)


def test_a_token_and_a_password_together_are_an_error_that_hides_both() -> None:
    environ = {
        "ROLLCHECK_PROMETHEUS_TOKEN": "tok-123",
        "ROLLCHECK_PROMETHEUS_USERNAME": "ops",
        "ROLLCHECK_PROMETHEUS_PASSWORD": "hunter2",
    }
    with pytest.raises(ConfigError, match="not both") as caught:
        secrets_from_env(environ)
    assert not {"tok-123", "hunter2"} & set(str(caught.value).replace("'", " ").split())


def test_turning_tls_verification_off_gives_a_warning() -> None:
    assert insecure_warning(Settings()) is None
    settings = resolve(cli={}, environ={"ROLLCHECK_TLS_VERIFY": "0"}, config_file=None)
    warning = insecure_warning(settings)
    assert warning is not None
    assert "verification is off" in warning
