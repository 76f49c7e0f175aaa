"""Where the local environment keeps its files and which loopback ports it listens on."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Marker put in the environment of every process the local environment starts (children inherit it),
#: so `down` can find and stop anything left behind, whatever process group it ended up in.
PROCESS_MARKER = "ROLLCHECK_LOCALENV_STATE"


@dataclass(frozen=True)
class Ports:
    """Loopback ports, fixed so that env.sh stays valid across restarts."""

    etcd_client: int = 32379
    """etcd client URL (http)."""
    etcd_peer: int = 32380
    """etcd peer URL; single member, but etcd insists on one."""
    apiserver: int = 36443
    """kube-apiserver secure port."""
    controller_manager: int = 36257
    """kube-controller-manager secure port (serves /healthz)."""
    prometheus: int = 39090
    """Prometheus web and API."""
    alertmanager: int = 39093
    """Alertmanager web and API."""
    alert_receiver: int = 39095
    """Where Alertmanager delivers webhooks by default; tests and `rollcheck serve` listen here."""


@dataclass(frozen=True)
class Layout:
    """Every path the local environment writes, derived from one state directory."""

    state: Path
    """The `.localenv` directory at the repository root (git-ignored)."""
    ports: Ports

    @classmethod
    def default(cls) -> Layout:
        state = Path(os.environ.get("ROLLCHECK_LOCALENV_DIR", REPO_ROOT / ".localenv")).resolve()
        return cls(state=state, ports=Ports())

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
