"""`preload()` readies a serving process: the first alert finds the Kubernetes client loaded, and full garbage
collections no longer walk the objects loaded at start (they paused every answer for 60-190 ms at 100
deliveries a second)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import gc, sys
from rollcheck.serve import preload
loaded_before = "kubernetes" in sys.modules
preload()
frozen = gc.get_freeze_count()
print(loaded_before, "kubernetes" in sys.modules, frozen > 20_000, len(gc.get_objects()) < 100)
"""


def test_preload_loads_the_cluster_clients_and_freezes_what_is_loaded(tmp_path: Path) -> None:
    # In a process of its own: gc.freeze() is for the whole process, and this one is pytest's.
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["False", "True", "True", "True"], result.stdout + result.stderr
