"""`rollcheck run`: validate the flags, say what is checked against what, then run pytest in-process.

pytest is imported only when the checks run, so `rollcheck --version` and `rollcheck report` stay fast.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import urllib.parse
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path

from .._errors import ConfigError
from .._version import __version__
from ..decide import describe_watch
from ..settings import OPTIONS
from ..settings import OPTIONS_BY_NAME
from ..settings import PYTEST_PREFIX
from ..settings import Kind
from ..settings import Settings
from ..settings import find_config_file
from ..settings import insecure_warning
from ..settings import resolve
from ..settings import secrets_from_env
from ._output import Output
from ._output import Style
from ._pytest_ini import find_pytest_ini

__all__ = ["add_run_arguments", "builtin_checks_dir", "check_paths", "header_lines", "pytest_arguments", "run"]

# With autoloading off, the plugins behind the flags rollcheck passes (--timeout, --html, --alluredir) are
# loaded by their entry-point names, which registers them under the names they look each other up by.
_THIRD_PARTY_PLUGINS = ("timeout", "metadata", "html", "html_fixtures", "allure_pytest")
# `-p html` makes pytest mark the module `html` for assertion rewriting, and the standard library's `html`,
# which pytest itself imports, is then reported as "already imported". That warning is about nothing.
_HTML_REWRITE_WARNING = "ignore:Module already imported so cannot be rewritten; html:pytest.PytestAssertRewriteWarning"


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="Your own check files or directories, run beside the built-in checks. Arguments after -- go to pytest.",
    )
    parser.add_argument(
        "--no-builtin-checks",
        dest="builtin_checks",
        action="store_false",
        help="Run only the given PATHs, not rollcheck's built-in rollout, health, error-rate and latency checks.",
    )
    for option in OPTIONS:
        flags, kwargs = option.argparse_arguments(prefix="--", dest=option.name, with_short=True)
        parser.add_argument(*flags, **kwargs)


def run(arguments: argparse.Namespace, extra: Sequence[str], out: Output, err: Output) -> int:
    """Resolve and check every setting first, so a bad value exits 4 naming the flag before pytest starts."""
    cli = {option.name: getattr(arguments, option.name) for option in OPTIONS}
    settings = resolve(cli=cli, environ=os.environ, config_file=find_config_file(Path.cwd()))
    secrets_from_env(os.environ)
    paths = check_paths(arguments.paths, builtin=arguments.builtin_checks)
    title, *rows = header_lines(settings)
    out.line(out.paint(title, Style.BOLD))
    for row in rows:
        out.line(row)
    out.line()
    warning = insecure_warning(settings)
    if warning:
        err.warning(warning)
    args = pytest_arguments(
        cli=cli,
        settings=settings,
        paths=paths,
        extra=extra,
        autoload=not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"),
        rootdir=Path.cwd(),
        user_paths=arguments.paths,
    )
    import pytest  # here and not at the top: see the module docstring

    return int(pytest.main(args, plugins=[]))


def check_paths(given: Sequence[str], *, builtin: bool) -> list[str]:
    """The built-in checks (unless turned off) and the team's own, each directory once."""
    paths = [str(builtin_checks_dir())] if builtin else []
    seen = {Path(path).resolve() for path in paths}
    for path in given:
        if Path(path).resolve() not in seen:
            seen.add(Path(path).resolve())
            paths.append(path)
    if not paths:
        raise ConfigError("--no-builtin-checks", True, "command line", "with no PATH given there is nothing to check")
    return paths


def builtin_checks_dir() -> Path:
    """The directory of the installed `rollcheck.checks`, found without importing the checks themselves."""
    spec = importlib.util.find_spec("rollcheck.checks")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ConfigError("PATH", None, "command line", "no paths given and the built-in checks are not installed")
    return Path(locations[0])


def pytest_arguments(
    *,
    cli: Mapping[str, object],
    settings: Settings,
    paths: Sequence[str],
    extra: Sequence[str],
    autoload: bool,
    rootdir: Path,
    user_paths: Sequence[str] = (),
) -> list[str]:
    """The pytest command line for a run: the plugin, the given flags as `--rollcheck-*`, the reports.

    Only flags given on the command line are passed on; the plugin reads the same ROLLCHECK_* variables and
    config file itself (from `--rootdir`, the working directory, so it finds the file this command found).
    The plugin is loaded by module name with its entry point blocked, which works whether or not pytest
    autoloads plugins and even where a project's addopts say `-p no:rollcheck` (rollcheck's own repository).
    """
    args = ["-p", "no:rollcheck", "-p", "rollcheck.plugins", "--rollcheck"]
    if not autoload:
        args += [arg for name in _THIRD_PARTY_PLUGINS for arg in ("-p", name)]
        args += ["-W", _HTML_REWRITE_WARNING]
    for option in OPTIONS:
        args += _as_pytest_flags(option.name, cli.get(option.name))
    report_dir = settings.report_dir
    args += [
        f"--rootdir={rootdir}",
        *(["-c", str(ini)] if (ini := find_pytest_ini(user_paths, rootdir)) else []),
        f"--junitxml={report_dir / 'junit.xml'}",
        f"--html={report_dir / 'report.html'}",
        "--self-contained-html",
        f"--alluredir={report_dir / 'allure-results'}",
        "-o",
        "timeout_method=signal",
        f"--timeout={settings.check_timeout:g}",
        # A failed check's message already says what was measured against what; the source listing of a
        # long traceback only buries it in a CI log. `-- --tb=long` brings it back (later flags win).
        "--tb=short",
    ]
    return [*args, *paths, *extra]


def _as_pytest_flags(name: str, given: object) -> list[str]:
    option = OPTIONS_BY_NAME[name]
    flag = PYTEST_PREFIX + option.flag
    if given is None:
        return []
    if option.kind in {Kind.SWITCH_ON, Kind.SWITCH_OFF}:
        return [flag]
    if isinstance(given, list):
        return [f"{flag}={item}" for item in given]
    # `--flag=value` keeps a value that starts with a dash from being read as another option.
    return [f"{flag}={given}"]


def header_lines(settings: Settings) -> list[str]:
    """What is checked, against what, with which thresholds, and what happens on failure."""

    def shown(name: str) -> str:
        return OPTIONS_BY_NAME[name].describe(getattr(settings, name))

    target = (
        f"{settings.target} in namespace {settings.namespace}"
        if settings.target
        else "no target: checks only, nothing can be rolled back"
    )
    # The same order of rules as the decision stage: no target, then dry run, then rollback on or off.
    if settings.target is None:
        on_failure = "report only (no target)"
    elif settings.dry_run:
        on_failure = "record the rollback plan, change nothing (dry run)"
    elif settings.rollback:
        on_failure = "roll back"
    else:
        on_failure = "report only (rollback is off)"
    metrics = (
        f"error rate <= {shown('max_error_rate')}, p99 <= {shown('max_p99_latency')}, "
        f"at least {shown('min_requests')} requests in {shown('window')}"
    )
    health = f"{shown('health_paths')} (fails after {shown('health_failures')} of {shown('health_attempts')})"
    rows = [
        ("release URL", _without_secrets(settings.base_url)),
        ("health", health),
        ("prometheus", _without_secrets(settings.prometheus_url)),
        ("thresholds", metrics),
        *([("watch", describe_watch(settings))] if settings.watch else []),
        ("on failure", f"{on_failure}; inconclusive: {settings.on_inconclusive}"),
        ("reports", f"{settings.report_dir}{os.sep}"),
    ]
    return [f"rollcheck {__version__}: {target}", *(f"  {label:<12} {value}" for label, value in rows)]


def _without_secrets(url: str | None) -> str:
    """Scheme, host, port and path only: a query string or user part could carry a token."""
    if url is None:
        return "not set"
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    return urllib.parse.urlunsplit((parts.scheme, host + port, parts.path, "", ""))
