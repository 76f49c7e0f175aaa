"""Which pytest configuration file a team's run should use.

pytest looks for its configuration from the common ancestor of the paths it is given. `rollcheck run` also
gives it the installed built-in checks, which usually live in site-packages, far from the project: the common
ancestor would then be `/` and the project's pytest.ini (its `pythonpath`, markers, plugins) would be ignored
without a word. So the CLI finds the file from the project's own paths, by pytest's documented rules, and
names it with `-c`.
"""

from __future__ import annotations

import configparser
import os
import tomllib
from collections.abc import Sequence
from pathlib import Path

__all__ = ["find_pytest_ini"]


def find_pytest_ini(paths: Sequence[str], cwd: Path) -> Path | None:
    """The first pytest configuration file from the common ancestor of `cwd` and `paths` upwards."""
    located = [Path(cwd, path).resolve() for path in paths]
    directories = [p if p.is_dir() else p.parent for p in located if p.exists()]
    start = Path(os.path.commonpath([cwd.resolve(), *directories]))
    for directory in (start, *start.parents):
        for name in ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"):
            candidate = directory / name
            if candidate.is_file() and _configures_pytest(candidate):
                return candidate
    return None


def _configures_pytest(path: Path) -> bool:
    if path.name in ("pytest.ini", ".pytest.ini"):
        return True  # these count even when empty
    if path.suffix == ".toml":
        try:
            tool = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            return False
        return "ini_options" in tool.get("pytest", {}) or (
            isinstance(tool.get("pytest"), dict) and bool(tool["pytest"])
        )
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error:
        return False
    return parser.has_section("pytest" if path.name == "tox.ini" else "tool:pytest")
