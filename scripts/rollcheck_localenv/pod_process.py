"""One pod's demo service as a local process: started, probed, restarted with back-off, and stopped.

Each process runs in its own process group, so stopping it stops everything it started. On Linux the kernel
also sends it SIGKILL when the agent dies (PR_SET_PDEATHSIG), so no demo process outlives the agent even if
the agent itself is SIGKILLed.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from .kube_objects import DemoContainer
from .kube_objects import ObjectKey
from .layout import PROCESS_MARKER

LOG = logging.getLogger("rollcheck_localenv.node_agent")

SCRIPTS_DIR = Path(__file__).resolve().parents[1]
STOP_GRACE_S = 3.0
MAX_RESTART_DELAY_S = 10.0
"""kubelet caps its back-off at 5 minutes; 10 s keeps crash-loop tests fast."""
PROBE_TIMEOUT_S = 1.0
# What a process needs from the agent's environment; the marker lets `localenv down` find strays.
PASSTHROUGH_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", PROCESS_MARKER)
PR_SET_PDEATHSIG = 1
# Loaded before any fork: the pre-exec hook must not do more than call into an already loaded library.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def kube_time(moment: datetime) -> str:
    """A timestamp the way the Kubernetes API writes them (RFC 3339, UTC, whole seconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pick_port(preferred: int | None = None) -> int:
    """A free loopback port: `preferred` while it is still free, so a restarted container keeps its address."""
    candidates = [preferred, 0] if preferred else [0]
    for candidate in candidates:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise OSError("no free loopback port")


def http_ready(port: int, path: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """kubelet's httpGet probe: any answer from 200 to 399 means ready."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        return 200 <= connection.getresponse().status < 400
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def demo_environment(container: DemoContainer) -> dict[str, str]:
    """The container's env over a minimal environment, with the demo service importable."""
    env = {name: os.environ[name] for name in PASSTHROUGH_ENV if name in os.environ}
    env.update(PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(container.env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SCRIPTS_DIR), env.get("PYTHONPATH")]))
    return env


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    def pre_exec() -> None:
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent_pid:  # the parent died between fork and prctl: nobody would signal us
            os._exit(1)

    return pre_exec


@dataclass(frozen=True)
class Termination:
    """How a container's process last ended, as containerStatuses reports it."""

    exit_code: int
    started_at: str
    finished_at: str

    @property
    def reason(self) -> str:
        return "Completed" if self.exit_code == 0 else "Error"

    def as_state(self) -> dict[str, Any]:
        return {
            "terminated": {
                "exitCode": self.exit_code,
                "reason": self.reason,
                "startedAt": self.started_at,
                "finishedAt": self.finished_at,
            }
        }


class DemoProcess:
    """The demo service process of one pod, with kubelet's restart and readiness behaviour.

    Start it from a thread that lives as long as the agent: PR_SET_PDEATHSIG fires when the creating
    *thread* exits, not only the process.
    """

    def __init__(
        self, pod: ObjectKey, container: DemoContainer, *, log_path: Path, restart_count: int = 0, ready: bool = False
    ) -> None:
        self.pod = pod
        self.container = container
        self.log_path = log_path
        self.restart_count = restart_count
        self.ready = ready
        """Adopted from the API on agent restart, so a quick re-start does not flip Ready."""
        self.port: int | None = None
        self.last_termination: Termination | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._started_at = datetime.now(UTC)
        self._started_monotonic = time.monotonic()
        self._crash_streak = 0
        self._restart_due: float | None = None
        self._probe_failures = 0
        self._stop_deadline: float | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def start(self) -> None:
        """Start the process on a free port (the previous one when possible)."""
        try:
            self.port = pick_port(self.port)
            self._process = self._spawn(self.port)
        except OSError as error:
            self._crash_streak += 1
            self._restart_due = time.monotonic() + self.restart_delay()
            LOG.error("pod %s could not start (%s); retrying in %gs", self.pod, error, self.restart_delay())
            return
        self._started_at = datetime.now(UTC)
        self._started_monotonic = time.monotonic()
        self._restart_due = None
        self._probe_failures = 0
        LOG.info("pod %s started pid %d port %d", self.pod, self._process.pid, self.port)

    def _spawn(self, port: int) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "rollcheck_localenv.demo_service", "--port", str(port)]
        command += ["--version", self.container.tag]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"--- {kube_time(datetime.now(UTC))} starting {self.container.image} ---\n".encode())
            log.flush()
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=demo_environment(self.container),
                cwd=SCRIPTS_DIR,
                start_new_session=True,
                preexec_fn=_die_with_parent(os.getpid()),
            )

    def supervise(self) -> None:
        """Notice an exited process and restart it once its back-off has passed."""
        if self._stop_deadline is not None:
            return
        if self._process is not None and self._process.poll() is not None:
            self._record_exit(self._process.returncode)
        elif self._restart_due is not None and time.monotonic() >= self._restart_due:
            self.start()

    def _record_exit(self, returncode: int) -> None:
        exit_code = returncode if returncode >= 0 else 128 - returncode  # killed by signal N: 128+N, as kubelet
        now = datetime.now(UTC)
        self.last_termination = Termination(exit_code, kube_time(self._started_at), kube_time(now))
        self._process = None
        self.ready = False
        self.restart_count += 1
        # A process that ran well for a while starts a fresh back-off sequence, as kubelet does.
        if time.monotonic() - self._started_monotonic >= 2 * MAX_RESTART_DELAY_S:
            self._crash_streak = 0
        self._crash_streak += 1
        delay = self.restart_delay()
        self._restart_due = time.monotonic() + delay
        LOG.info("pod %s exited with code %d; restart #%d in %gs", self.pod, exit_code, self.restart_count, delay)

    def restart_delay(self) -> float:
        """1 s, 2 s, 4 s ... capped at MAX_RESTART_DELAY_S, by how many times in a row the process crashed."""
        return float(min(2 ** max(self._crash_streak - 1, 0), MAX_RESTART_DELAY_S))

    def probe(self) -> None:
        """Run the readiness probe once; Ready flips off after failure_threshold failures in a row."""
        if not self.running or self.port is None:
            return
        if http_ready(self.port, self.container.readiness_path):
            if not self.ready:
                LOG.info("pod %s is ready", self.pod)
            self.ready = True
            self._probe_failures = 0
            return
        self._probe_failures += 1
        if self.ready and self._probe_failures >= self.container.failure_threshold:
            LOG.info("pod %s failed %d readiness probes; not ready", self.pod, self._probe_failures)
            self.ready = False

    def container_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """containerStatuses' ``state`` and ``lastState`` for what the process is doing now."""
        last_state = self.last_termination.as_state() if self.last_termination else {}
        if self.running:
            return {"running": {"startedAt": kube_time(self._started_at)}}, last_state
        if self._restart_due is not None:
            message = (
                f"back-off {self.restart_delay():g}s restarting failed container={self.container.name} "
                f"pod={self.pod.name}"
            )
            return {"waiting": {"reason": "CrashLoopBackOff", "message": message}}, last_state
        return {"waiting": {"reason": "ContainerCreating"}}, last_state

    def begin_stop(self) -> None:
        """Ask the process group to terminate (SIGTERM); `stopped` escalates to SIGKILL after the grace period."""
        self._stop_deadline = time.monotonic() + STOP_GRACE_S
        self._restart_due = None
        self._signal_group(signal.SIGTERM)

    def stopped(self) -> bool:
        """Whether the process is gone; SIGKILLs its group once the grace period has run out."""
        process = self._process
        if process is None or process.poll() is not None:
            return True
        if self._stop_deadline is not None and time.monotonic() >= self._stop_deadline:
            LOG.warning("pod %s did not stop within %gs; killing it", self.pod, STOP_GRACE_S)
            self._signal_group(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=1.0)
        return process.poll() is not None

    def stop(self) -> None:
        """Stop the process and wait until it is gone."""
        self.begin_stop()
        while not self.stopped():
            time.sleep(0.05)

    def _signal_group(self, signum: int) -> None:
        # Only while the leader is unreaped is its process group id certainly still ours to signal.
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signum)
