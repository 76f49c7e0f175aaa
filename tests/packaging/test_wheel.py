"""What `pip install .` gives users: every package, the plugin and checks inside the rollcheck namespace, the
entry points, and nothing at the top level but rollcheck. The editable install of the dev virtualenv would
hide a missing package, so this builds and reads the real wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from localenv_support import REPO_ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    # A copy of the working tree, because setuptools writes build/ and *.egg-info/ next to the sources.
    source = tmp_path_factory.mktemp("source") / "rollcheck"
    ignored = shutil.ignore_patterns(".git", ".venv", ".localenv", "node_modules", "build", "*.egg-info", "__pycache__")
    shutil.copytree(REPO_ROOT, source, ignore=ignored)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [built] = out.glob("rollcheck-*.whl")
    return zipfile.ZipFile(built)


def _source_packages() -> set[str]:
    """Every package of the source tree, named as it is installed."""
    packages = {str(p.parent.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "rollcheck").rglob("__init__.py")}
    packages |= {"rollcheck/plugins", "rollcheck/checks"}
    return packages


def test_every_package_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    shipped = {str(Path(name).parent) for name in wheel.namelist() if name.endswith("/__init__.py")}
    assert _source_packages() <= shipped, f"missing from the wheel: {sorted(_source_packages() - shipped)}"


def test_nothing_but_rollcheck_at_the_top_level(wheel: zipfile.ZipFile) -> None:
    tops = {name.split("/", 1)[0] for name in wheel.namelist() if not name.split("/", 1)[0].endswith(".dist-info")}
    assert tops == {"rollcheck"}


def test_checks_types_and_entry_points_ship(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert {"rollcheck/py.typed", "rollcheck/checks/test_error_rate.py", "rollcheck/plugins/_session.py"} <= names
    [entry_points] = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "rollcheck = rollcheck.cli:main" in text
    assert "[pytest11]\nrollcheck = rollcheck.plugins" in text
