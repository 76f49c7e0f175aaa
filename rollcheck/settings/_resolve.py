"""The resolver: command line > ROLLCHECK_* > config file > defaults, and markers above all for one check.

Every bad value raises ConfigError naming the option the way the user wrote it (`--max-error-rate`,
`ROLLCHECK_MAX_ERROR_RATE`, `max-error-rate` in a file, `max_error_rate=` in a marker), the value, where it
came from, and what is wrong with it.

Decisions worth knowing:

- An empty ROLLCHECK_* variable counts as unset, so CI templates can pass `ROLLCHECK_TARGET=` through.
- Unknown ROLLCHECK_* variables are ignored (ROLLCHECK_PROMETHEUS_TOKEN and CI context variables share the
  prefix); unknown keys in a config file or a marker are errors that suggest the closest option.
- Relative paths in a config file are relative to that file; on the command line and in the environment, to
  the working directory.
- `dry_run` with `rollback` off is accepted, and dry-run wins: the plan is recorded, nothing changes.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import re
import shutil
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from ..target._ref import TargetKind
from ._model import SECRET_URL_FILES
from ._model import Settings
from ._options import OPTIONS
from ._options import OPTIONS_BY_NAME
from ._options import Option
from ._parse import format_duration
from ._parse import parse_secret_url

__all__ = [
    "ConfigFile",
    "PrometheusAuth",
    "find_config_file",
    "insecure_warning",
    "resolve",
    "secrets_from_env",
    "with_marker_overrides",
]

_DEFAULTS = Settings()
_TOOL_SECTION = "[tool.rollcheck]"
_CREDENTIALS_IN_URL = re.compile(r"(?<=://)[^/@\s]*@")
_HIDDEN = "<hidden>"


@dataclass(frozen=True, kw_only=True)
class ConfigFile:
    """The options found in a rollcheck.toml or in a pyproject.toml's [tool.rollcheck] table."""

    path: Path
    """The file, as an absolute path."""
    table: Mapping[str, object]
    """Its options, keyed as written (`max-error-rate` or `max_error_rate`)."""
    section: str | None
    """`[tool.rollcheck]` when the options live in that table; None for rollcheck.toml's top-level keys."""

    @property
    def source(self) -> str:
        return f"{self.path} {self.section}" if self.section else str(self.path)


@dataclass(frozen=True)
class _Origin:
    """Where a value came from, to name it in an error."""

    option: str
    """The option as the user spelled it there: `--window`, `ROLLCHECK_WINDOW`, `window`."""
    source: str
    """`command line`, `environment`, a config file, a marker, or `default`."""
    rank: int
    """Precedence: the higher wins, and is the one blamed when two values do not fit together."""

    def describe(self) -> str:
        return f"from {self.option} in {self.source}" if self.rank else f"from {self.source}"


_FILE, _ENVIRONMENT, _COMMAND_LINE, _MARKER = 1, 2, 3, 4


def find_config_file(start: Path) -> ConfigFile | None:
    """The nearest rollcheck.toml, or pyproject.toml with a [tool.rollcheck] table, from `start` upwards.

    In one directory rollcheck.toml wins over pyproject.toml. A pyproject.toml without the table is passed by.
    """
    start = start.resolve()
    for directory in (start, *start.parents):
        for name in ("rollcheck.toml", "pyproject.toml"):
            path = directory / name
            if path.is_file() and (found := _read_config_file(path)) is not None:
                return found
    return None


def _read_config_file(path: Path) -> ConfigFile | None:
    import tomllib  # here: a run with no rollcheck.toml or pyproject.toml above it never parses TOML

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError("config file", str(path), "config file discovery", f"cannot be read: {error}") from None
    tool = data.get("tool")
    if not isinstance(tool, dict) or "rollcheck" not in tool:
        return None if path.name == "pyproject.toml" else ConfigFile(path=path, table=data, section=None)
    table = tool["rollcheck"]
    if not isinstance(table, dict):
        raise ConfigError(_TOOL_SECTION, table, str(path), "must be a table of options")
    others = sorted(set(data) - {"tool"}) if path.name == "rollcheck.toml" else []
    if others:
        problem = "rollcheck.toml holds either top-level options or a [tool.rollcheck] table, not both"
        raise ConfigError(others[0], data[others[0]], str(path), problem)
    return ConfigFile(path=path, table=table, section=_TOOL_SECTION)


def resolve(
    *,
    cli: Mapping[str, object],
    environ: Mapping[str, str],
    config_file: ConfigFile | None,
    cli_prefix: str = "--",
) -> Settings:
    """One Settings from every source. `cli` maps field names to what the command line held (None: not given).

    `cli_prefix` is how the flags were spelled, so an error names the flag the user typed: `--` for
    `rollcheck run`, `--rollcheck-` for pytest.
    """
    # Any: each field's parser comes from the option table, so each value has its field's type.
    values: dict[str, Any] = {}
    origins: dict[str, _Origin] = {}
    given = [*_from_file(config_file), *_from_environment(environ), *_from_command_line(cli, cli_prefix)]
    for option, raw, origin in given:  # in rising precedence: a later value replaces an earlier one
        base = config_file.path.parent if config_file and origin.rank == _FILE else None
        values[option.name] = _parsed(option, raw, origin, base)
        origins[option.name] = origin
    settings = dataclasses.replace(_DEFAULTS, **values)
    _check_combinations(settings, origins, unset_source="default")
    _check_helm(settings, origins, environ.get("PATH"))
    return _with_secret_files(settings, origins)


def with_marker_overrides(settings: Settings, overrides: Mapping[str, object], where: str) -> Settings:
    """Settings for one check with `@pytest.mark.rollcheck_settings(...)` applied; `where` names the marker,
    as in "marker on checks/test_x.py::test_y".

    Only options a check reads while it measures can be overridden; the session-wide ones (target, clients,
    rollback policy, reports) are errors here, because the run would silently ignore them.
    """
    values: dict[str, Any] = {}
    origins: dict[str, _Origin] = {}
    for name, raw in overrides.items():
        origin = _Origin(name, where, _MARKER)
        option = OPTIONS_BY_NAME.get(name)
        if option is None:
            raise ConfigError(name, _shown(raw), where, _unknown_option(name))
        if not option.per_check:
            problem = (
                f"applies to the whole run and cannot be set for one check; set it with --{option.flag}, "
                f"{option.env_var} or {option.config_key} in [tool.rollcheck]"
            )
            raise ConfigError(name, _shown(raw), where, problem)
        values[name] = _parsed(option, raw, origin, None)
        origins[name] = origin
    result = dataclasses.replace(settings, **values)
    _check_combinations(result, origins, unset_source="the run's settings")
    return result


def _from_file(config_file: ConfigFile | None) -> Iterator[tuple[Option, object, _Origin]]:
    if config_file is None:
        return
    seen: dict[str, str] = {}
    for key, raw in config_file.table.items():
        name = key.replace("-", "_")
        option = OPTIONS_BY_NAME.get(name)
        if option is None:
            raise ConfigError(key, _shown(raw), config_file.source, _unknown_option(key))
        if name in seen:
            shown = _HIDDEN if option.secret else _shown(raw)
            raise ConfigError(key, shown, config_file.source, f"is given twice (also as {seen[name]})")
        seen[name] = key
        yield option, raw, _Origin(key, config_file.source, _FILE)


def _from_environment(environ: Mapping[str, str]) -> Iterator[tuple[Option, object, _Origin]]:
    for option in OPTIONS:
        raw = environ.get(option.env_var)
        if raw is not None and raw.strip():
            yield option, raw, _Origin(option.env_var, "environment", _ENVIRONMENT)


def _from_command_line(cli: Mapping[str, object], prefix: str) -> Iterator[tuple[Option, object, _Origin]]:
    for name, raw in cli.items():
        option = OPTIONS_BY_NAME[name]  # the callers build `cli` from the option table: a miss is a bug
        if raw is not None:
            yield option, raw, _Origin(prefix + option.flag, "command line", _COMMAND_LINE)


def _parsed(option: Option, raw: object, origin: _Origin, base: Path | None) -> object:
    try:
        value = option.parse(raw)
        if isinstance(value, Path):
            value = base / value if base and not value.is_absolute() else value
            _check_path(option.name, value)
    except ValueError as error:
        shown = _HIDDEN if option.secret else _shown(raw)
        raise ConfigError(origin.option, shown, origin.source, str(error)) from None
    return value


def _check_path(name: str, path: Path) -> None:
    try:
        if name in {"kubeconfig", "ca_file", *SECRET_URL_FILES.values()} and not path.is_file():
            raise ValueError(f"no such file: {path}")
        if name == "report_dir" and path.exists() and not path.is_dir():
            raise ValueError(f"is a file, not a directory: {path}")
    except OSError as error:
        raise ValueError(f"cannot be checked: {error.strerror}") from None


def _check_combinations(settings: Settings, origins: Mapping[str, _Origin], *, unset_source: str) -> None:
    """Values that are fine alone but not together; the one from the higher-precedence source is blamed."""
    _check_watch(settings, origins, unset_source=unset_source)
    if settings.health_failures <= settings.health_attempts:
        return
    failures = origins.get("health_failures", _Origin("health_failures", unset_source, 0))
    attempts = origins.get("health_attempts", _Origin("health_attempts", unset_source, 0))
    if attempts.rank > failures.rank:
        problem = f"must be at least the health failures ({settings.health_failures}, {failures.describe()})"
        raise ConfigError(attempts.option, settings.health_attempts, attempts.source, problem)
    problem = f"must not exceed the health attempts ({settings.health_attempts}, {attempts.describe()})"
    raise ConfigError(failures.option, settings.health_failures, failures.source, problem)


def _check_helm(settings: Settings, origins: Mapping[str, _Origin], path: str | None) -> None:
    """A helm/RELEASE target is read and rolled back through helm: without it the run could do neither."""
    if settings.target is None or settings.target.kind is not TargetKind.HELM or shutil.which(settings.helm, path=path):
        return
    origin = origins.get("helm", _Origin("--helm", "default", 0))
    where = "is not an executable file" if os.sep in settings.helm else "was not found on PATH"
    problem = f"{where}; helm/RELEASE targets need helm 3: install it or point --helm (ROLLCHECK_HELM) at it"
    raise ConfigError(origin.option, settings.helm, origin.source, problem)


def _with_secret_files(settings: Settings, origins: Mapping[str, _Origin]) -> Settings:
    """Each notification URL given as a file is read here, so a bad file is a usage error before the run, not a
    notification that silently never arrives."""
    for url_name, file_name in SECRET_URL_FILES.items():
        path = getattr(settings, file_name)
        if path is None:
            continue
        origin = origins[file_name]
        if url_name in origins:
            also = origins[url_name]
            problem = f"is given together with {also.option} ({also.describe()}); give only one of them"
            raise ConfigError(origin.option, str(path), origin.source, problem)
        try:
            url = parse_secret_url(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(origin.option, str(path), origin.source, f"cannot be read: {error}") from None
        except ValueError as error:
            problem = f"does not hold a valid URL: it {error}"
            raise ConfigError(origin.option, str(path), origin.source, problem) from None
        found: dict[str, Any] = {url_name: url}  # Any: url_name is one of the str | None fields
        settings = dataclasses.replace(settings, **found)
    return settings


def _check_watch(settings: Settings, origins: Mapping[str, _Origin], *, unset_source: str) -> None:
    """A watch shorter than one interval would never repeat anything."""
    if settings.watch == 0 or settings.watch >= settings.interval:
        return
    watch = origins.get("watch", _Origin("watch", unset_source, 0))
    interval = origins.get("interval", _Origin("interval", unset_source, 0))
    if interval.rank > watch.rank:
        problem = f"must not exceed the watch ({format_duration(settings.watch)}, {watch.describe()})"
        raise ConfigError(interval.option, format_duration(settings.interval), interval.source, problem)
    shown = format_duration(settings.interval)
    problem = f"must be 0 (no watch) or at least the interval ({shown}, {interval.describe()})"
    raise ConfigError(watch.option, format_duration(settings.watch), watch.source, problem)


def _unknown_option(key: str) -> str:
    import difflib  # here: only a mistake needs it

    dashed = "-" in key
    names = [option.config_key if dashed else option.name for option in OPTIONS]
    close = difflib.get_close_matches(key, names, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "see `rollcheck run --help` for the options"
    return f"is not a rollcheck option; {hint}"


def _shown(raw: object) -> object:
    """The value as it may appear in a message: a user:password@ in a URL is masked."""
    if isinstance(raw, str):
        return _CREDENTIALS_IN_URL.sub("***@", raw)
    if isinstance(raw, list | tuple):
        return [_shown(item) for item in raw]
    return raw


@dataclass(frozen=True, repr=False)
class PrometheusAuth:
    """Prometheus credentials, from the environment only. The repr never shows them."""

    token: str | None = None
    """Bearer token (ROLLCHECK_PROMETHEUS_TOKEN)."""
    username: str | None = None
    """Basic-auth user (ROLLCHECK_PROMETHEUS_USERNAME)."""
    password: str | None = None
    """Basic-auth password (ROLLCHECK_PROMETHEUS_PASSWORD)."""

    def headers(self) -> dict[str, str]:
        """The Authorization header to send, if any. Never log the result."""
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        if self.username is not None and self.password is not None:
            pair = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
            return {"Authorization": f"Basic {pair}"}
        return {}

    def __repr__(self) -> str:
        kind = "bearer token" if self.token else "basic auth" if self.username else "none"
        return f"PrometheusAuth({kind}, credentials hidden)"

    __str__ = __repr__


def secrets_from_env(environ: Mapping[str, str]) -> PrometheusAuth:
    """Prometheus credentials: ROLLCHECK_PROMETHEUS_TOKEN, or ROLLCHECK_PROMETHEUS_USERNAME and _PASSWORD."""
    token, username, password = (
        environ.get(f"ROLLCHECK_PROMETHEUS_{part}") or None for part in ("TOKEN", "USERNAME", "PASSWORD")
    )
    if token and (username or password):
        problem = "set either the token or ROLLCHECK_PROMETHEUS_USERNAME and _PASSWORD, not both"
        raise ConfigError("ROLLCHECK_PROMETHEUS_TOKEN", _HIDDEN, "environment", problem)
    if bool(username) != bool(password):
        missing, present = (
            ("ROLLCHECK_PROMETHEUS_PASSWORD", "ROLLCHECK_PROMETHEUS_USERNAME")
            if username
            else ("ROLLCHECK_PROMETHEUS_USERNAME", "ROLLCHECK_PROMETHEUS_PASSWORD")
        )
        raise ConfigError(missing, "<unset>", "environment", f"must be set together with {present}")
    return PrometheusAuth(token=token, username=username, password=password)


def insecure_warning(settings: Settings) -> str | None:
    """The warning to print when TLS verification is off; None when it is on."""
    if settings.tls_verify:
        return None
    return (
        "TLS certificate verification is off: the release's and Prometheus' certificates are not checked, "
        "so anyone in between could decide this release's verdict"
    )
