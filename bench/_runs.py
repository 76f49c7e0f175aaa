"""What rollcheck adds to a pipeline: a whole passing run against bare pytest running the same checks, the
plugin's overhead on a large suite, and start-up."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path

from _cluster import VENV_BIN
from _cluster import Cluster
from _cluster import Timed
from _cluster import clean_env
from _cluster import run_timed
from _stats import Row
from _stats import Series
from _stats import ratio_row

SUITES = Path(__file__).resolve().parent / "suites"


def suite_dir(workdir: Path, name: str, *files: str) -> Path:
    """A directory holding only the given suite files and an empty pytest.ini, so neither side picks up the
    repository's own pytest configuration."""
    folder = workdir / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pytest.ini").write_text("[pytest]\n")
    for file in files:
        shutil.copy(SUITES / file, folder / file)
    return folder


def interleaved(
    repeats: int, subject: Callable[[], Timed], peer: Callable[[], Timed]
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Run both `repeats` times, alternating who goes first, after one untimed round of each (cold caches)."""
    ours: list[float] = []
    theirs: list[float] = []
    subject(), peer()
    for round_number in range(repeats):
        if round_number % 2 == 0:
            ours.append(subject().seconds * 1000)
            theirs.append(peer().seconds * 1000)
        else:
            theirs.append(peer().seconds * 1000)
            ours.append(subject().seconds * 1000)
    return tuple(ours), tuple(theirs)


def expecting(code: int, command: Sequence[str], cwd: Path, **env: str) -> Callable[[], Timed]:
    def run() -> Timed:
        timed = run_timed(command, cwd=cwd, env=clean_env(**env))
        if timed.returncode != code:
            raise RuntimeError(f"{' '.join(command)} exited {timed.returncode}, not {code}:\n{timed.output[-3000:]}")
        return timed

    return run


def whole_run(cluster: Cluster, repeats: int, workdir: Path, namespace: str, base_url: str) -> list[Row]:
    """`rollcheck run` with its built-in checks against bare pytest running the same five checks written by
    hand (suites/test_bare_checks.py), on the same healthy release (Deployment `shop` in `namespace`)."""
    folder = suite_dir(workdir, "whole-run", "test_bare_checks.py")
    rollcheck = [
        str(VENV_BIN / "rollcheck"),
        "run",
        "-t",
        "deployment/shop",
        "-n",
        namespace,
        f"--kubeconfig={cluster.kubeconfig}",
        f"--base-url={base_url}",
        f"--prometheus-url={cluster.prometheus_url}",
        "--window=10s",
        f"--report-dir={workdir / 'whole-run-report'}",
    ]
    bare = [str(VENV_BIN / "pytest"), "-q", "-p", "no:rollcheck", "test_bare_checks.py"]
    env = {
        "KUBECONFIG": str(cluster.kubeconfig),
        "BENCH_NAMESPACE": namespace,
        "BENCH_NAME": "shop",
        "BENCH_BASE_URL": base_url,
        "BENCH_PROMETHEUS_URL": cluster.prometheus_url,
    }
    ours, theirs = interleaved(repeats, expecting(0, rollcheck, folder, **env), expecting(0, bare, folder, **env))
    return [
        ratio_row("whole passing run (5 checks)", Series(ours), "bare pytest, same checks", Series(theirs), at_most=1.2)
    ]


def plugin_overhead(repeats: int, workdir: Path) -> list[Row]:
    """200 trivial checks with rollcheck enabled (it classifies every outcome and writes report.json) against the
    same suite with the plugin blocked."""
    folder = suite_dir(workdir, "trivial", "test_trivial.py")
    pytest = str(VENV_BIN / "pytest")
    enabled = [pytest, "-q", "-p", "rollcheck", "--rollcheck", f"--rollcheck-report-dir={workdir / 'trivial-report'}"]
    blocked = [pytest, "-q", "-p", "no:rollcheck"]
    ours, theirs = interleaved(repeats, expecting(0, enabled, folder), expecting(0, blocked, folder))
    return [
        ratio_row("200 trivial checks, plugin on", Series(ours), "same, -p no:rollcheck", Series(theirs), at_most=1.05)
    ]


def startup(repeats: int, workdir: Path, base_url: str) -> list[Row]:
    """`rollcheck --version` against `pytest --version`, and a health-only run against its bare twin."""
    version_ours, version_theirs = interleaved(
        repeats,
        expecting(0, [str(VENV_BIN / "rollcheck"), "--version"], workdir),
        expecting(0, [str(VENV_BIN / "pytest"), "--version"], workdir),
    )
    folder = suite_dir(workdir, "health-only", "test_health_only.py")
    health = [
        str(VENV_BIN / "rollcheck"),
        "run",
        "--no-builtin-checks",
        f"--base-url={base_url}",
        f"--report-dir={workdir / 'health-report'}",
        "test_health_only.py",
    ]
    bare = [str(VENV_BIN / "pytest"), "-q", "-p", "no:rollcheck", "test_health_only.py"]
    health_ours, health_theirs = interleaved(
        repeats,
        expecting(0, health, folder, BENCH_BASE_URL=base_url),
        expecting(0, bare, folder, BENCH_BASE_URL=base_url),
    )
    return [
        ratio_row("start-up: --version", Series(version_ours), "pytest --version", Series(version_theirs), at_most=1.5),
        ratio_row(
            "start-up: health-only run",
            Series(health_ours),
            "bare pytest, same check",
            Series(health_theirs),
            at_most=1.5,
        ),
    ]
