"""Where the local environment keeps its files and which loopback ports it listens on."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Marker put in the environment of every process the local environment starts (children inherit it),
#: so `down` can find and stop anything left behind, whatever process group it ended up in.
PROCESS_MARKER = "ROLLCHECK_LOCALENV_STATE"


@dataclass(frozen=True)
class Ports:
    """Loopback ports, fixed so that env.sh stays valid across restarts, and below the kernel's ephemeral range
    (32768 and up) so that no outgoing connection or port-0 listener can be holding one when we start."""

    etcd_client: int = 12379
    """etcd client URL (http)."""
    etcd_peer: int = 12380
    """etcd peer URL; single member, but etcd insists on one."""
    apiserver: int = 16443
    """kube-apiserver secure port."""
    controller_manager: int = 16257
    """kube-controller-manager secure port (serves /healthz)."""
    prometheus: int = 19090
    """Prometheus web and API."""
    alertmanager: int = 19093
    """Alertmanager web and API."""
    alert_receiver: int = 19095
    """Where Alertmanager delivers webhooks by default; tests and `rollcheck serve` listen here."""
    demo_workload: int = 18080
    """Where `make demo` exposes its `shop` workload."""


@dataclass(frozen=True)
class Layout:
    """Every path the local environment writes, derived from one state directory."""

    state: Path
    """The `.localenv` directory at the repository root (git-ignored)."""
    ports: Ports

    @classmethod
    def default(cls) -> Layout:
        """The repository's `.localenv`, or ROLLCHECK_LOCALENV_DIR with every port shifted by
        ROLLCHECK_LOCALENV_PORT_OFFSET, so a second, independent environment can run beside the first."""
        state = Path(os.environ.get("ROLLCHECK_LOCALENV_DIR", REPO_ROOT / ".localenv")).resolve()
        offset = int(os.environ.get("ROLLCHECK_LOCALENV_PORT_OFFSET", "0"))
        ports = Ports(**{name: port + offset for name, port in dataclasses.asdict(Ports()).items()})
        return cls(state=state, ports=ports)

    @property
    def pki(self) -> Path:
        return self.state / "pki"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def pids(self) -> Path:
        return self.state / "pids"

    @property
    def bin(self) -> Path:
        return self.state / "bin"

    @property
    def helm_homes(self) -> dict[str, Path]:
        """HELM_CACHE_HOME, HELM_CONFIG_HOME and HELM_DATA_HOME: helm keeps its repositories, plugins and cache
        here, never in the user's ~/.config or ~/.cache."""
        return {f"HELM_{part.upper()}_HOME": self.state / "helm" / part for part in ("cache", "config", "data")}

    @property
    def agent(self) -> Path:
        return self.state / "agent"

    @property
    def etcd_data(self) -> Path:
        return self.state / "etcd"

    @property
    def prometheus(self) -> Path:
        return self.state / "prometheus"

    @property
    def prometheus_rules(self) -> Path:
        """Tests drop rule files here, then POST /-/reload."""
        return self.prometheus / "rules"

    @property
    def alertmanager(self) -> Path:
        return self.state / "alertmanager"

    @property
    def kubeconfig(self) -> Path:
        return self.state / "kubeconfig"

    @property
    def env_file(self) -> Path:
        return self.state / "env.sh"

    @property
    def apiserver_url(self) -> str:
        return f"https://127.0.0.1:{self.ports.apiserver}"

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.prometheus}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.alertmanager}"
