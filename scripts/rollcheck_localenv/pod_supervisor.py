"""The kubelet stand-in: runs each pod's demo process and reports it through the pods/status subresource.

Pods are not bound to a node, so the API server deletes them at once and the agent learns about it from the
watch; the process is then stopped. A status is sent only when it differs from the last one accepted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .kube_objects import KubeObject
from .kube_objects import ObjectKey
from .kube_objects import WorkloadRef
from .kube_objects import demo_container
from .kube_objects import first_container
from .kube_objects import is_terminating
from .kube_objects import owning_workload
from .kube_watch import Backoff
from .kube_watch import describe_error
from .pod_process import DemoProcess
from .pod_process import kube_time
from .pod_status import ConditionClock
from .pod_status import ContainerReport
from .pod_status import never_pull_report
from .pod_status import pod_status
from .service_discovery import ScrapeTarget

LOG = logging.getLogger("rollcheck_localenv.node_agent")

MERGE_PATCH = "application/merge-patch+json"  # lists such as containerStatuses are replaced, never merged
API_TIMEOUT = (5.0, 10.0)
FINISHED_PHASES = frozenset({"Succeeded", "Failed"})
PROBE_THREADS = 8


@dataclass
class PodRuntime:
    """What the agent keeps for one pod it handles."""

    key: ObjectKey
    uid: str
    pod: KubeObject
    clock: ConditionClock
    start_time: str
    process: DemoProcess | None
    """None when the image cannot run here."""
    workload: WorkloadRef | None = None
    reported: dict[str, Any] | None = None
    """The last status the API server accepted."""


class ApiGate:
    """Holds status writes back for a while after the API server failed, instead of hammering it."""

    def __init__(self) -> None:
        self._backoff = Backoff(initial=1.0, maximum=10.0)
        self._closed_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() >= self._closed_until

    def failed(self) -> float:
        delay = self._backoff.next_delay()
        self._closed_until = time.monotonic() + delay
        return delay

    def succeeded(self) -> None:
        self._backoff.reset()


def _should_run(pod: KubeObject) -> bool:
    return not is_terminating(pod) and (pod.get("status") or {}).get("phase") not in FINISHED_PHASES


class PodSupervisor:
    """Runs, probes, restarts, stops and reports the processes of every pod in the cluster."""

    def __init__(self, core: client.CoreV1Api, state_dir: Path) -> None:
        self._core = core
        self._logs = state_dir / "pods"
        self._runtimes: dict[ObjectKey, PodRuntime] = {}
        self._stopping: list[DemoProcess] = []
        self._gate = ApiGate()
        self._probes = ThreadPoolExecutor(max_workers=PROBE_THREADS, thread_name_prefix="probe")

    def sync(self, pods: Mapping[ObjectKey, KubeObject], replica_sets: Mapping[ObjectKey, KubeObject]) -> None:
        """Adopt new pods, forget deleted or replaced ones, and refresh which workload each belongs to."""
        wanted = {key: pod for key, pod in pods.items() if _should_run(pod)}
        for key, runtime in list(self._runtimes.items()):
            why = self._reason_to_stop(runtime, wanted.get(key))
            if why:
                self._forget(key, why)
        for key, pod in wanted.items():
            runtime = self._runtimes.get(key) or self._adopt(key, pod)
            runtime.pod = pod
            runtime.workload = owning_workload(pod, replica_sets)

    @staticmethod
    def _reason_to_stop(runtime: PodRuntime, pod: KubeObject | None) -> str:
        """Why the pod's process must go (empty if it may keep running)."""
        if pod is None:
            return "pod deleted, terminating or finished"
        if pod["metadata"]["uid"] != runtime.uid:
            return "pod recreated under the same name"
        if demo_container(pod) != (runtime.process.container if runtime.process else None):
            return "container spec changed"
        return ""

    def _adopt(self, key: ObjectKey, pod: KubeObject) -> PodRuntime:
        status = pod.get("status") or {}
        runtime = PodRuntime(
            key=key,
            uid=pod["metadata"]["uid"],
            pod=pod,
            clock=ConditionClock(status.get("conditions") or []),
            start_time=status.get("startTime") or kube_time(datetime.now(UTC)),
            process=None,
        )
        self._runtimes[key] = runtime
        container = demo_container(pod)
        if container is None:
            LOG.info("pod %s has image %s, which cannot run here", key, first_container(pod).get("image"))
            return runtime
        previous: dict[str, Any] = next(iter(status.get("containerStatuses") or []), {})
        runtime.process = DemoProcess(
            key,
            container,
            log_path=self._logs / f"{key.namespace}_{key.name}.log",
            restart_count=int(previous.get("restartCount") or 0),
            ready=bool(previous.get("ready")),
        )
        runtime.process.start()
        return runtime

    def _forget(self, key: ObjectKey, why: str) -> None:
        runtime = self._runtimes.pop(key)
        if runtime.process is not None:
            LOG.info("stopping pod %s (pid %s): %s", key, runtime.process.pid, why)
            runtime.process.begin_stop()
            self._stopping.append(runtime.process)

    def supervise(self) -> None:
        """Restart exited processes when due, probe readiness, and finish stopping forgotten ones."""
        processes = [runtime.process for runtime in self._runtimes.values() if runtime.process is not None]
        for process in processes:
            process.supervise()
        # Probes run side by side so one hung process cannot delay the others' readiness.
        list(self._probes.map(DemoProcess.probe, [process for process in processes if process.running]))
        self._stopping = [process for process in self._stopping if not process.stopped()]

    def report(self) -> None:
        """Send every pod status that changed since the API server last accepted one."""
        for runtime in list(self._runtimes.values()):
            desired = self._desired_status(runtime)
            if desired != runtime.reported and self._gate.is_open():
                self._send(runtime, desired)

    def _desired_status(self, runtime: PodRuntime) -> dict[str, Any]:
        process = runtime.process
        if process is None:
            report = never_pull_report(first_container(runtime.pod))
            return pod_status(phase="Pending", start_time=runtime.start_time, clock=runtime.clock, container=report)
        state, last_state = process.container_state()
        report = ContainerReport(
            name=process.container.name,
            image=process.container.image,
            ready=process.ready and process.running,
            started=process.running,
            restart_count=process.restart_count,
            state=state,
            last_state=last_state,
        )
        # Like kubelet with restartPolicy Always: once a container has run, a crash-looping pod stays Running.
        phase = "Running" if process.running or process.restart_count else "Pending"
        return pod_status(phase=phase, start_time=runtime.start_time, clock=runtime.clock, container=report)

    def _send(self, runtime: PodRuntime, desired: dict[str, Any]) -> None:
        key = runtime.key
        try:
            self._core.patch_namespaced_pod_status(
                key.name, key.namespace, {"status": desired}, _content_type=MERGE_PATCH, _request_timeout=API_TIMEOUT
            )
        except ApiException as error:
            if error.status in {404, 409}:
                LOG.debug("status of pod %s not written (HTTP %s); the watch will catch up", key, error.status)
            elif error.status in {400, 422}:
                LOG.error("API server rejected the status of pod %s: %s", key, error.body)
                runtime.reported = desired  # the same document would be rejected again
            else:
                LOG.warning(
                    "status of pod %s not written (HTTP %s); retrying in %gs", key, error.status, self._gate.failed()
                )
            return
        except (urllib3.exceptions.HTTPError, OSError) as error:
            delay = self._gate.failed()
            LOG.warning("status of pod %s not written (%s); retrying in %gs", key, describe_error(error), delay)
            return
        self._gate.succeeded()
        runtime.reported = desired

    def ready_ports(self) -> dict[WorkloadRef, list[int]]:
        """Loopback ports of the Ready pods of each workload: the proxies' backends."""
        ports: dict[WorkloadRef, list[int]] = {}
        for runtime in self._runtimes.values():
            process = runtime.process
            if runtime.workload and process and process.ready and process.running and process.port:
                ports.setdefault(runtime.workload, []).append(process.port)
        return {workload: sorted(found) for workload, found in ports.items()}

    def scrape_targets(self) -> list[ScrapeTarget]:
        """Every running demo process, ready or not, so scrapes show unready releases too."""
        return [
            ScrapeTarget(
                namespace=runtime.key.namespace,
                pod=runtime.key.name,
                port=runtime.process.port,
                version=runtime.process.container.tag,
                workload=runtime.workload,
                pod_labels=runtime.pod["metadata"].get("labels") or {},
            )
            for runtime in self._runtimes.values()
            if runtime.process is not None and runtime.process.running and runtime.process.port is not None
        ]

    def pod_table(self) -> list[dict[str, Any]]:
        """The pods.json document: one row per demo pod, its port and current pid (null while backing off)."""
        return [
            {
                "namespace": runtime.key.namespace,
                "pod": runtime.key.name,
                "port": runtime.process.port,
                "pid": runtime.process.pid,
                "ready": runtime.process.ready,
                "restarts": runtime.process.restart_count,
            }
            for runtime in sorted(self._runtimes.values(), key=lambda r: r.key)
            if runtime.process is not None
        ]

    def shutdown(self) -> None:
        """Stop every process (SIGTERM, SIGKILL after the grace period) and wait until all are gone."""
        for key in list(self._runtimes):
            self._forget(key, "the agent is shutting down")
        while self._stopping:
            self._stopping = [process for process in self._stopping if not process.stopped()]
            time.sleep(0.05)
        self._probes.shutdown(wait=True)
