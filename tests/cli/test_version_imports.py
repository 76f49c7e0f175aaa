"""`rollcheck --version` answers before any command's module is imported: no settings, serve or record model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import rollcheck

PROBE = (
    "import sys\n"
    "from rollcheck.cli import main\n"
    "code = main(['--version'])\n"
    "print(sorted(name for name in sys.modules if name.split('.')[0] == 'rollcheck'), code)\n"
)


def test_version_loads_only_the_package_and_the_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, check=True, timeout=60
    )
    version, loaded = result.stdout.splitlines()
    assert version == f"rollcheck {rollcheck.__version__}"
    expected = ["rollcheck", "rollcheck._errors", "rollcheck._exitcodes", "rollcheck._version", "rollcheck.cli"]
    assert loaded == f"{expected} 0"


def test_version_among_other_arguments_still_goes_through_the_parser(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rollcheck", "--version", "report", "missing.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (0, f"rollcheck {rollcheck.__version__}\n")
