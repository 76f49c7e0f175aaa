"""Starting, finding and stopping the local environment's processes, and waiting for them to be ready.

Each process runs in its own session (so a terminal's Ctrl-C does not reach it), logs to `logs/<name>.log`
and has its pid in `pids/<name>.pid`. Every process also carries PROCESS_MARKER in its environment, which its
children inherit; `stop_strays` uses it to make sure nothing is left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path

from .layout import PROCESS_MARKER
from .layout import Layout


class NotReady(Exception):
    """A component did not become ready before its deadline."""


def pid_of(layout: Layout, name: str) -> int | None:
    """The recorded pid of `name` if that process is still alive."""
    try:
        pid = int((layout.pids / f"{name}.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    if _is_zombie(pid):
        return None
    return pid


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def start(
    layout: Layout,
    name: str,
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    layout.logs.mkdir(parents=True, exist_ok=True)
    layout.pids.mkdir(parents=True, exist_ok=True)
    child_env = {**os.environ, **(env or {}), PROCESS_MARKER: str(layout.state)}
    with (layout.logs / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_env,
            cwd=cwd,
            start_new_session=True,
        )
    (layout.pids / f"{name}.pid").write_text(f"{process.pid}\n")
    return process.pid


def wait_until(
    name: str,
    probe: Callable[[], bool],
    *,
    timeout: float,
    alive: Callable[[], bool],
    log: Path,
) -> None:
    """Poll `probe` until it holds; fail early, with the log's tail, if the process died."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while time.monotonic() < deadline:
        if probe():
            return
        if not alive():
            raise NotReady(f"{name} exited during start-up; last lines of {log}:\n{tail(log, 25)}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
    raise NotReady(f"{name} was not ready after {timeout:.0f}s; last lines of {log}:\n{tail(log, 25)}")


def tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def stop(layout: Layout, name: str, *, grace: float = 10.0) -> bool:
    """SIGTERM the process group of `name`, then SIGKILL after `grace` seconds. True if it was running."""
    pid = pid_of(layout, name)
    (layout.pids / f"{name}.pid").unlink(missing_ok=True)
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and not _is_zombie(pid):
        _reap(pid)
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    _reap(pid)
    return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def marked_processes(layout: Layout) -> list[int]:
    """Pids of every live process carrying this environment's marker (children included)."""
    marker = f"{PROCESS_MARKER}={layout.state}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0") and not _is_zombie(int(entry.name)):
            found.append(int(entry.name))
    return found


def stop_strays(layout: Layout) -> list[int]:
    """Kill whatever still carries the marker after the orderly stop: nothing may be left behind."""
    strays = marked_processes(layout)
    for pid in strays:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and marked_processes(layout):
        time.sleep(0.05)
    return strays
