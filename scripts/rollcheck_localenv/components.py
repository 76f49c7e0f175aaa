"""The components of the local environment: how each is started and how we know it is ready.

Order matters: etcd, then kube-apiserver, then the controllers and the node agent, then monitoring.
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from . import monitoring
from .layout import REPO_ROOT
from .layout import Layout


@dataclass(frozen=True)
class Component:
    name: str
    argv: Callable[[Layout, Path], list[str]]
    """Command line, given the layout and the directory of the built binaries."""
    ready: Callable[[Layout], bool]
    """A real readiness probe, polled until it holds."""
    timeout: float = 60.0
    env: Callable[[Layout], dict[str, str]] | None = None
    prepare: Callable[[Layout], object] | None = None
    """Writes the component's configuration before it starts."""


def _get(url: str, layout: Layout, *, client_cert: bool = False) -> httpx.Response | None:
    pki = layout.pki
    tls = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    if client_cert:
        tls.load_cert_chain(pki / "admin.crt", pki / "admin.key")
    try:
        return httpx.get(url, timeout=2.0, verify=tls)
    except httpx.HTTPError:
        return None


def _answers(url: str, *, client_cert: bool = False, expect: str | None = None) -> Callable[[Layout], bool]:
    def probe(layout: Layout) -> bool:
        response = _get(url.format(p=layout.ports), layout, client_cert=client_cert)
        if response is None or response.status_code != 200:
            return False
        return expect is None or expect in response.text

    return probe


def _etcd(layout: Layout, binaries: Path) -> list[str]:
    p = layout.ports
    peer = f"http://127.0.0.1:{p.etcd_peer}"
    client = f"http://127.0.0.1:{p.etcd_client}"
    return [
        str(binaries / "etcd"),
        "--name=localenv",
        f"--data-dir={layout.etcd_data}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=localenv={peer}",
        "--unsafe-no-fsync=true",
        "--log-level=warn",
    ]


def _apiserver(layout: Layout, binaries: Path) -> list[str]:
    p, pki = layout.ports, layout.pki
    return [
        str(binaries / "kube-apiserver"),
        f"--etcd-servers=http://127.0.0.1:{p.etcd_client}",
        "--bind-address=127.0.0.1",
        # Needed on machines without a default route; the apiserver otherwise refuses to pick an address.
        "--advertise-address=127.0.0.1",
        f"--secure-port={p.apiserver}",
        f"--tls-cert-file={pki / 'apiserver.crt'}",
        f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--client-ca-file={pki / 'ca.crt'}",
        "--authorization-mode=RBAC",
        f"--service-account-issuer={layout.apiserver_url}",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        "--service-cluster-ip-range=10.0.0.0/24",
        # No serviceaccount controller runs, so the admission plugin would reject every pod.
        "--disable-admission-plugins=ServiceAccount",
        "--endpoint-reconciler-type=none",
        "--allow-privileged=true",
        f"--cert-dir={pki / 'apiserver-generated'}",
        "--v=0",
    ]


def _controller_manager(layout: Layout, binaries: Path) -> list[str]:
    p, pki = layout.ports, layout.pki
    controllers = [
        "deployment-controller",
        "replicaset-controller",
        "statefulset-controller",
        "daemonset-controller",
        "garbage-collector-controller",
        # Without it a deleted namespace stays Terminating forever and its pods keep running and taking load.
        "namespace-controller",
    ]
    return [
        str(binaries / "kube-controller-manager"),
        f"--kubeconfig={layout.kubeconfig}",
        f"--authentication-kubeconfig={layout.kubeconfig}",
        f"--authorization-kubeconfig={layout.kubeconfig}",
        f"--controllers={','.join(controllers)}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        f"--secure-port={p.controller_manager}",
        f"--tls-cert-file={pki / 'controller-manager.crt'}",
        f"--tls-private-key-file={pki / 'controller-manager.key'}",
        "--kube-api-qps=200",
        "--kube-api-burst=400",
        "--v=0",
    ]


def _python_module(module: str, *args: str) -> Callable[[Layout, Path], list[str]]:
    def argv(layout: Layout, binaries: Path) -> list[str]:
        return [sys.executable, "-m", module, *[a.format(state=layout.state) for a in args]]

    return argv


def _python_env(layout: Layout) -> dict[str, str]:
    return {"PYTHONPATH": str(REPO_ROOT / "scripts"), "PYTHONUNBUFFERED": "1"}


def _agent_ready(layout: Layout) -> bool:
    return (layout.agent / "workloads.json").exists()


def _prometheus(layout: Layout, binaries: Path) -> list[str]:
    return [
        "prometheus",
        f"--config.file={layout.prometheus / 'prometheus.yml'}",
        f"--storage.tsdb.path={layout.prometheus / 'data'}",
        "--storage.tsdb.retention.time=1d",
        f"--web.listen-address=127.0.0.1:{layout.ports.prometheus}",
        "--web.enable-lifecycle",
    ]


def _alertmanager(layout: Layout, binaries: Path) -> list[str]:
    return [
        "prometheus-alertmanager",
        f"--config.file={layout.alertmanager / 'alertmanager.yml'}",
        f"--storage.path={layout.alertmanager / 'data'}",
        f"--web.listen-address=127.0.0.1:{layout.ports.alertmanager}",
        # An empty cluster address turns off HA gossip, which would otherwise listen on all interfaces.
        "--cluster.listen-address=",
    ]


COMPONENTS: tuple[Component, ...] = (
    Component("etcd", _etcd, _answers("http://127.0.0.1:{p.etcd_client}/health", expect='"true"')),
    Component(
        "kube-apiserver",
        _apiserver,
        _answers("https://127.0.0.1:{p.apiserver}/readyz", client_cert=True),
        timeout=120.0,
    ),
    Component(
        "kube-controller-manager",
        _controller_manager,
        _answers("https://127.0.0.1:{p.controller_manager}/healthz"),
    ),
    Component(
        "node-agent",
        _python_module(
            "rollcheck_localenv.node_agent", "--kubeconfig", "{state}/kubeconfig", "--state-dir", "{state}/agent"
        ),
        _agent_ready,
        env=_python_env,
    ),
    Component(
        "prometheus",
        _prometheus,
        _answers("http://127.0.0.1:{p.prometheus}/-/ready"),
        prepare=monitoring.write_prometheus_config,
    ),
    Component(
        "alertmanager",
        _alertmanager,
        _answers("http://127.0.0.1:{p.alertmanager}/-/ready"),
        prepare=monitoring.write_alertmanager_config,
    ),
    Component(
        "loadgen",
        _python_module("rollcheck_localenv.loadgen", "--state-dir", "{state}/agent"),
        lambda layout: True,
        env=_python_env,
    ),
)
