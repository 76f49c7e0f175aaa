"""The pytest side: `--rollcheck-*` options, settings_from_pytest and plugin_enabled, run through pytester.

The conftest below wires the functions itself, with the installed plugin blocked, so these tests depend only
on plugins/_options.py. The last test runs the real plugin.
"""

from __future__ import annotations

import os

import pytest

CONFTEST = """
import pytest
from rollcheck.plugins._options import add_options, plugin_enabled, settings_from_pytest

def pytest_addoption(parser):
    add_options(parser)

def pytest_configure(config):
    settings = settings_from_pytest(config)
    config.stash[RESOLVED] = (settings, plugin_enabled(config))

def pytest_report_header(config):
    settings, enabled = config.stash[RESOLVED]
    return [
        f"resolved: max_error_rate={settings.max_error_rate} window={settings.window} "
        f"health_paths={settings.health_paths} rollback={settings.rollback} target={settings.target}",
        f"enabled: {enabled}",
    ]

RESOLVED = pytest.StashKey()
"""


@pytest.fixture(autouse=True)
def no_rollcheck_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("ROLLCHECK_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def wired(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    return pytester


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:rollcheck", *args)


def test_a_bad_option_is_a_usage_error_naming_the_option_and_value(wired: pytest.Pytester) -> None:
    result = _run(wired, "--rollcheck-max-error-rate=abc")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --rollcheck-max-error-rate='abc' (from command line): must be a number*"])
    assert "Traceback" not in result.stderr.str()


def test_options_are_resolved(wired: pytest.Pytester) -> None:
    result = _run(
        wired,
        "--rollcheck-window=2m",
        "--rollcheck-health-path=/a",
        "--rollcheck-health-path=/b",
        "--rollcheck-no-rollback",
    )
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["resolved: *window=120.0 health_paths=('/a', '/b') rollback=False *"])


def test_the_config_file_is_found_from_the_rootdir(wired: pytest.Pytester) -> None:
    wired.makepyprojecttoml("[tool.rollcheck]\nmax-error-rate = 0.07\n")
    result = _run(wired)
    result.stdout.fnmatch_lines(["resolved: max_error_rate=0.07 *"])


def test_a_bad_config_file_value_names_the_file(wired: pytest.Pytester) -> None:
    wired.makepyprojecttoml("[tool.rollcheck]\nmax-error-rat = 0.07\n")
    result = _run(wired)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    message = f"ERROR: max-error-rat=0.07 (from {wired.path / 'pyproject.toml'} [tool.rollcheck]): is not a rollcheck"
    assert message in result.stderr.str()
    assert "did you mean 'max-error-rate'?" in result.stderr.str()


def test_the_environment_is_read(wired: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLLCHECK_MAX_ERROR_RATE", "0.09")
    result = _run(wired)
    result.stdout.fnmatch_lines(["resolved: max_error_rate=0.09 *"])


@pytest.mark.parametrize(
    ("args", "environ", "enabled"),
    [
        ((), {}, False),
        (("--rollcheck",), {}, True),
        (("--rollcheck-target=deployment/shop",), {}, True),
        ((), {"ROLLCHECK_TARGET": "deployment/shop"}, True),
        ((), {"ROLLCHECK_TARGET": ""}, False),
    ],
)
def test_plugin_enabled(
    wired: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    environ: dict[str, str],
    enabled: bool,
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    result = _run(wired, *args)
    result.stdout.fnmatch_lines([f"enabled: {enabled}"])


def test_a_target_in_the_config_file_alone_does_not_enable_rollcheck(wired: pytest.Pytester) -> None:
    wired.makepyprojecttoml('[tool.rollcheck]\ntarget = "deployment/shop"\n')
    result = _run(wired)
    result.stdout.fnmatch_lines(["resolved: *target=deployment/shop", "enabled: False"])


def test_help_lists_the_options_in_their_group(wired: pytest.Pytester) -> None:
    result = _run(wired, "--help")
    result.stdout.fnmatch_lines(
        [
            "rollcheck: post-deploy checks with rollback:",
            "*--rollcheck *",
            "*--rollcheck-health-path=PATH*",
            "*--rollcheck-max-error-rate=FRACTION*",
            "*--rollcheck-no-rollback*",
        ]
    )


def test_the_real_plugin_rejects_a_bad_value_before_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    # `-p rollcheck` (the entry-point name), not `-p rollcheck.plugins`: with autoloading on, loading the module
    # under its own name as well as under the entry point's is refused by pluggy.
    result = pytester.runpytest("-p", "rollcheck", "--rollcheck", "--rollcheck-max-error-rate=abc")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--rollcheck-max-error-rate='abc' (from command line)" in result.stderr.str()
