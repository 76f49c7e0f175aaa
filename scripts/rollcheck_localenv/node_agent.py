"""The node agent: kubelet and kube-proxy stand-in for the local environment.

Run: ``python -m rollcheck_localenv.node_agent --kubeconfig PATH --state-dir DIR``

- Registers the Node ``localenv-node`` and keeps it Ready.
- Runs every pod whose first container is ``rollcheck-demo:<tag>`` as a local demo service process, reports
  it through pods/status, restarts it with back-off when it crashes, and stops it when the pod goes away.
  Pods with other images stay Pending with ``ErrImageNeverPull``.
- Exposes every Deployment, StatefulSet and DaemonSet annotated ``localenv.rollcheck.dev/port: "<N>"`` on
  127.0.0.1:N, round-robin over its Ready pods.
- Publishes ``DIR/workloads.json``, ``DIR/prometheus-targets.json`` and ``DIR/pods.json``.

Everything is driven from one loop in the main thread, fed by list-and-watch caches; SIGTERM or SIGINT stops
every process and proxy it started, then exits 0.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import TextIO

from kubernetes import client
from kubernetes import config as kube_config

from .kube_objects import KubeObject
from .kube_objects import WorkloadRef
from .kube_objects import load_rate
from .kube_watch import ObjectCache
from .kube_watch import ResourceWatcher
from .node_registration import NodeRegistration
from .pod_supervisor import PodSupervisor
from .service_discovery import PublishedFile
from .service_discovery import target_groups
from .service_discovery import workload_entries
from .workload_proxy import ProxyManager

LOG = logging.getLogger("rollcheck_localenv.node_agent")

TICK_S = 0.5
"""How often processes are supervised and probed, statuses reported and files published."""
PUBLISHED_FILES = ("workloads.json", "prometheus-targets.json", "pods.json")


@dataclass
class ClusterView:
    """The caches the agent works from, one per watched resource."""

    pods: ObjectCache = field(default_factory=lambda: ObjectCache("pods"))
    replica_sets: ObjectCache = field(default_factory=lambda: ObjectCache("replicasets"))
    workload_caches: dict[str, ObjectCache] = field(
        default_factory=lambda: {
            "Deployment": ObjectCache("deployments"),
            "StatefulSet": ObjectCache("statefulsets"),
            "DaemonSet": ObjectCache("daemonsets"),
        }
    )

    def watch_all(self, api: client.ApiClient, stop: threading.Event) -> None:
        """Start one list-and-watch thread per cache."""
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        list_calls: dict[str, Callable[..., Any]] = {
            "Deployment": apps.list_deployment_for_all_namespaces,
            "StatefulSet": apps.list_stateful_set_for_all_namespaces,
            "DaemonSet": apps.list_daemon_set_for_all_namespaces,
        }
        ResourceWatcher(core.list_pod_for_all_namespaces, self.pods, stop).start()
        ResourceWatcher(apps.list_replica_set_for_all_namespaces, self.replica_sets, stop).start()
        for kind, cache in self.workload_caches.items():
            ResourceWatcher(list_calls[kind], cache, stop).start()

    def wait_synced(self, stop: threading.Event) -> bool:
        """Wait until every cache has its first list; False if `stop` was set first."""
        caches = [self.pods, self.replica_sets, *self.workload_caches.values()]
        while not stop.is_set():
            if all(cache.synced.is_set() for cache in caches):
                return True
            stop.wait(0.1)
        return False

    def workloads(self) -> dict[WorkloadRef, KubeObject]:
        found: dict[WorkloadRef, KubeObject] = {}
        for kind, cache in self.workload_caches.items():
            for key, obj in cache.snapshot().items():
                found[WorkloadRef(key.namespace, kind, key.name)] = obj
        return found


class NodeAgent:
    """Wires the caches, the pod supervisor, the proxies and the published files into one loop."""

    def __init__(self, api: client.ApiClient, state_dir: Path, stop: threading.Event) -> None:
        self._api = api
        self._stop = stop
        self._view = ClusterView()
        self._node = NodeRegistration(client.CoreV1Api(api))
        self._supervisor = PodSupervisor(client.CoreV1Api(api), state_dir)
        # Replaced wholesale every tick; proxy threads only ever read the current dict.
        self._ready_ports: dict[WorkloadRef, list[int]] = {}
        self._proxies = ProxyManager(lambda ref: self._ready_ports.get(ref, []))
        self._files = {name: PublishedFile(state_dir / name) for name in PUBLISHED_FILES}
        self._bad_rates: set[str] = set()

    def run(self) -> None:
        """Serve until `stop` is set."""
        self._view.watch_all(self._api, self._stop)
        if not self._node.register(self._stop) or not self._view.wait_synced(self._stop):
            return
        LOG.info("caches in sync; running pods")
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # a bug in one tick must not take every pod down with the agent
                LOG.exception("unexpected error in the agent loop; carrying on")
            self._stop.wait(TICK_S)

    def tick(self) -> None:
        """One round: pods, readiness, statuses, proxies, files, node heartbeat."""
        self._supervisor.sync(self._view.pods.snapshot(), self._view.replica_sets.snapshot())
        self._supervisor.supervise()
        self._ready_ports = self._supervisor.ready_ports()
        self._supervisor.report()
        workloads = self._view.workloads()
        self._proxies.sync(workloads)
        self._files["workloads.json"].publish(workload_entries(self._proxies.exposed(), self._load_rates(workloads)))
        self._files["prometheus-targets.json"].publish(target_groups(self._supervisor.scrape_targets()))
        self._files["pods.json"].publish(self._supervisor.pod_table())
        self._node.heartbeat_if_due()

    def _load_rates(self, workloads: dict[WorkloadRef, KubeObject]) -> dict[WorkloadRef, float]:
        """The load rates workloads ask for with their annotation; an unusable one is reported once, then ignored."""
        rates: dict[WorkloadRef, float] = {}
        for ref, workload in workloads.items():
            try:
                rate = load_rate(workload)
            except ValueError as error:
                if str(error) not in self._bad_rates:  # every tick would repeat it twice a second
                    self._bad_rates.add(str(error))
                    LOG.error("%s gets the default load rate: %s", ref, error)
                continue
            if rate is not None:
                rates[ref] = rate
        return rates

    def shutdown(self) -> None:
        """Stop every proxy and process, and withdraw the published files, which would now be stale."""
        self._proxies.stop_all()
        self._supervisor.shutdown()
        for published in self._files.values():
            published.path.unlink(missing_ok=True)


def _lock_state_dir(state_dir: Path) -> TextIO | None:
    """Hold an exclusive lock for this process's lifetime: two agents would fight over every pod."""
    lock = (state_dir / "agent.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None
    return lock


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="rollcheck_localenv.node_agent", description="kubelet and kube-proxy stand-in"
    )
    parser.add_argument("--kubeconfig", type=Path, required=True, help="kubeconfig with rights on pods and nodes")
    parser.add_argument("--state-dir", type=Path, required=True, help="where logs and published files go")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the agent until SIGTERM or SIGINT; returns the process exit code."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    # urllib3 logs each of its own connection retries; the agent already reports every failed call once.
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    args = _parse_args(argv)
    args.state_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock_state_dir(args.state_dir)
    if lock is None:
        LOG.error("another node agent holds %s; not starting a second one", args.state_dir / "agent.lock")
        return 1
    for stale in PUBLISHED_FILES:  # left by a previous agent; its processes died with it
        (args.state_dir / stale).unlink(missing_ok=True)
    try:
        api = kube_config.new_client_from_config(config_file=str(args.kubeconfig))
    except (OSError, kube_config.ConfigException) as error:
        LOG.error("cannot load kubeconfig %s: %s", args.kubeconfig, error)
        return 1
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    agent = NodeAgent(api, args.state_dir, stop)
    try:
        agent.run()
    finally:
        LOG.info("shutting down: stopping every process and proxy")
        agent.shutdown()
        lock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
