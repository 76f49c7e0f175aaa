"""`scripts/localenv up|down|status|restart|logs|identity`: one command for the whole local release environment."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import pki
from . import processes
from .components import COMPONENTS
from .components import Component
from .layout import REPO_ROOT
from .layout import Layout


def _say(message: str) -> None:
    print(f"localenv: {message}", file=sys.stderr, flush=True)


def build_binaries() -> Path:
    """Build (once per machine, cached by version) and return the directory of the control-plane binaries."""
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "build-binaries")], check=True, stdout=subprocess.PIPE, text=True
    )
    return Path(result.stdout.strip().splitlines()[-1])


def _require_monitoring() -> None:
    missing = [tool for tool in ("prometheus", "prometheus-alertmanager") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(
            f"localenv: {', '.join(missing)} not found; install the Debian packages "
            "'prometheus' and 'prometheus-alertmanager' (make deps does)"
        )


def _fresh_state(layout: Layout) -> None:
    """A cold start gets a new CA, an empty etcd and an empty Prometheus: nothing carries over."""
    for stale in (layout.pki, layout.etcd_data, layout.prometheus, layout.alertmanager, layout.agent):
        shutil.rmtree(stale, ignore_errors=True)
    ca = pki.create_ca(layout.pki)
    pki.issue(ca, layout.pki, "apiserver", common_name="kube-apiserver", server=True)
    pki.issue(ca, layout.pki, "controller-manager", common_name="kube-controller-manager", server=True)
    admin = pki.issue(ca, layout.pki, "admin", common_name="localenv-admin", organizations=("system:masters",))
    pki.create_service_account_signer(layout.pki)
    pki.write_kubeconfig(
        layout.kubeconfig, server=layout.apiserver_url, ca=ca.cert, client=admin, user="localenv-admin"
    )


def _link_binaries(layout: Layout, binaries: Path) -> None:
    layout.bin.mkdir(parents=True, exist_ok=True)
    for tool in ("kubectl", "helm", "etcd", "kube-apiserver", "kube-controller-manager"):
        link = layout.bin / tool
        link.unlink(missing_ok=True)
        link.symlink_to(binaries / tool)


def _exports(layout: Layout) -> str:
    return "\n".join(
        [
            f"export KUBECONFIG={layout.kubeconfig}",
            f"export PROMETHEUS_URL={layout.prometheus_url}",
            f"export ALERTMANAGER_URL={layout.alertmanager_url}",
            *(f"export {name}={path}" for name, path in layout.helm_homes.items()),
            f'export PATH="{layout.bin}:$PATH"',
        ]
    )


def _start(layout: Layout, component: Component, binaries: Path) -> None:
    if component.prepare is not None:
        component.prepare(layout)
    started = time.monotonic()
    processes.start(
        layout,
        component.name,
        component.argv(layout, binaries),
        env=component.env(layout) if component.env else None,
        cwd=REPO_ROOT,
    )
    processes.wait_until(
        component.name,
        lambda: component.ready(layout),
        timeout=component.timeout,
        alive=lambda: processes.pid_of(layout, component.name) is not None,
        log=layout.logs / f"{component.name}.log",
    )
    _say(f"{component.name} ready in {time.monotonic() - started:.1f}s")


def up(layout: Layout) -> int:
    _require_monitoring()
    binaries = build_binaries()
    running = {c.name for c in COMPONENTS if processes.pid_of(layout, c.name) is not None}
    if not running:
        _fresh_state(layout)
    elif not layout.kubeconfig.exists():
        raise SystemExit("localenv: components are running but the kubeconfig is gone; run `down` then `up`")
    _link_binaries(layout, binaries)
    try:
        for component in COMPONENTS:
            if component.name in running and component.ready(layout):
                continue
            if component.name in running:
                processes.stop(layout, component.name)
            _start(layout, component, binaries)
    except processes.NotReady as error:
        _say(str(error))
        return 1
    layout.env_file.write_text(_exports(layout) + "\n")
    print(_exports(layout))
    return 0


def restart(layout: Layout, names: list[str], down_for: float = 0.0) -> int:
    """Restart some components (new code or flags) without touching the others or the cluster's state.

    `down_for` keeps them stopped that many seconds first: an outage of a known length, such as a Prometheus
    being rescheduled, for tests of what a release check does meanwhile.
    """
    known = {c.name for c in COMPONENTS}
    unknown = [name for name in names if name not in known]
    if unknown:
        print(
            f"localenv: unknown component(s) {', '.join(unknown)}; one of {', '.join(sorted(known))}", file=sys.stderr
        )
        return 2
    for name in names:
        processes.stop(layout, name)
    if down_for > 0:
        _say(f"{', '.join(names)} stopped; starting again in {down_for:g}s")
        time.sleep(down_for)
    return up(layout)


def down(layout: Layout) -> int:
    for component in reversed(COMPONENTS):
        if processes.stop(layout, component.name):
            _say(f"stopped {component.name}")
    strays = processes.stop_strays(layout)
    if strays:
        _say(f"killed {len(strays)} leftover process(es): {strays}")
    return 0


def status(layout: Layout) -> int:
    healthy = True
    for component in COMPONENTS:
        pid = processes.pid_of(layout, component.name)
        ready = pid is not None and component.ready(layout)
        healthy &= ready
        state = "up" if ready else ("not ready" if pid else "down")
        print(f"{component.name:<24} {state:<10} pid={pid or '-'}")
    return 0 if healthy else 1


def logs(layout: Layout, name: str | None, lines: int) -> int:
    names = [name] if name else [c.name for c in COMPONENTS]
    known = {c.name for c in COMPONENTS}
    for each in names:
        if each not in known:
            print(f"localenv: unknown component {each!r}; one of {', '.join(sorted(known))}", file=sys.stderr)
            return 2
        print(f"==> {each} <==")
        print(processes.tail(layout.logs / f"{each}.log", lines))
    return 0


def identity(layout: Layout, user: str, groups: list[str], output: Path | None) -> int:
    """Issue a client certificate for `user` (no groups granted by default) and write its kubeconfig.

    The identity can do nothing until a Role or ClusterRole is bound to the user: that is how RBAC denials
    are tested for real.
    """
    ca = pki.KeyPair(layout.pki / "ca.crt", layout.pki / "ca.key")
    if not ca.key.exists():
        print("localenv: no CA yet; run `scripts/localenv up` first", file=sys.stderr)
        return 1
    directory = layout.state / "identities" / user
    client = pki.issue(ca, directory, "client", common_name=user, organizations=tuple(groups))
    path = pki.write_kubeconfig(
        output or directory / "kubeconfig", server=layout.apiserver_url, ca=ca.cert, client=client, user=user
    )
    print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/localenv", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="build what is missing, start everything, wait until ready")
    commands.add_parser("down", help="stop everything up started")
    commands.add_parser("status", help="one line per component; exit 0 only if all are up")
    restart_parser = commands.add_parser("restart", help="restart some components, keeping the cluster's state")
    restart_parser.add_argument("components", nargs="+")
    restart_parser.add_argument(
        "--down-for", type=float, default=0.0, metavar="SECONDS", help="stay stopped this long before starting again"
    )
    log_parser = commands.add_parser("logs", help="show component logs")
    log_parser.add_argument("component", nargs="?")
    log_parser.add_argument("-n", "--lines", type=int, default=200)
    id_parser = commands.add_parser("identity", help="issue a restricted client identity and print its kubeconfig")
    id_parser.add_argument("user")
    id_parser.add_argument("--group", action="append", default=[])
    id_parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    layout = Layout.default()
    os.umask(0o077)
    if args.command == "up":
        return up(layout)
    if args.command == "down":
        return down(layout)
    if args.command == "status":
        return status(layout)
    if args.command == "restart":
        return restart(layout, args.components, args.down_for)
    if args.command == "logs":
        return logs(layout, args.component, args.lines)
    return identity(layout, args.user, args.group, args.output)
