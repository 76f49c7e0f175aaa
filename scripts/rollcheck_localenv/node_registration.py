"""The one Node the local environment has, registered and kept Ready the way kubelet would.

Deployments and StatefulSets do not need a Node, but the DaemonSet controller plans one pod per eligible
Node. Node admission adds a ``not-ready`` NoSchedule taint on create, which DaemonSet pods do not tolerate, so
the taint is patched away after creating the Node (admission only runs on create).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC
from datetime import datetime

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .kube_watch import Backoff
from .kube_watch import describe_error
from .pod_process import kube_time

LOG = logging.getLogger("rollcheck_localenv.node_agent")

NODE_NAME = "localenv-node"
HEARTBEAT_S = 20.0
RETRY_S = 5.0
MERGE_PATCH = "application/merge-patch+json"
API_TIMEOUT = (5.0, 10.0)


class NodeRegistration:
    """Creates ``localenv-node`` if needed, clears its taints, and renews its Ready heartbeat."""

    def __init__(self, core: client.CoreV1Api) -> None:
        self._core = core
        self._ready_since = kube_time(datetime.now(UTC))
        self._next_heartbeat = 0.0

    def register(self, stop: threading.Event) -> bool:
        """Retry until the Node exists and is Ready; False if `stop` was set first."""
        backoff = Backoff(initial=0.5, maximum=10.0)
        while not stop.is_set():
            if self._try(self._register):
                LOG.info("node %s registered and Ready", NODE_NAME)
                return True
            stop.wait(backoff.next_delay())
        return False

    def heartbeat_if_due(self) -> None:
        """Renew the Ready condition every HEARTBEAT_S; recreate the Node if someone deleted it."""
        if time.monotonic() < self._next_heartbeat:
            return
        succeeded = self._try(self._heartbeat)
        self._next_heartbeat = time.monotonic() + (HEARTBEAT_S if succeeded else RETRY_S)

    def _register(self) -> None:
        try:
            self._core.read_node(NODE_NAME, _request_timeout=API_TIMEOUT)
        except ApiException as error:
            if error.status != 404:
                raise
            self._core.create_node(self._manifest(), _request_timeout=API_TIMEOUT)
        self._core.patch_node(
            NODE_NAME, {"spec": {"taints": []}}, _content_type=MERGE_PATCH, _request_timeout=API_TIMEOUT
        )
        self._patch_status()
        self._next_heartbeat = time.monotonic() + HEARTBEAT_S

    def _heartbeat(self) -> None:
        try:
            self._patch_status()
        except ApiException as error:
            if error.status != 404:
                raise
            LOG.warning("node %s was deleted; registering it again", NODE_NAME)
            self._register()

    def _try(self, action: Callable[[], None]) -> bool:
        try:
            action()
        except ApiException as error:
            LOG.warning("node %s: API server answered %s; retrying", NODE_NAME, describe_error(error))
            return False
        except (urllib3.exceptions.HTTPError, OSError) as error:
            LOG.warning("node %s: API server unreachable (%s); retrying", NODE_NAME, describe_error(error))
            return False
        return True

    @staticmethod
    def _manifest() -> client.V1Node:
        labels = {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux"}
        return client.V1Node(metadata=client.V1ObjectMeta(name=NODE_NAME, labels=labels))

    def _patch_status(self) -> None:
        now = kube_time(datetime.now(UTC))
        ready = {
            "type": "Ready",
            "status": "True",
            "reason": "KubeletReady",
            "message": "rollcheck local node agent is posting ready status",
            "lastHeartbeatTime": now,
            "lastTransitionTime": self._ready_since,
        }
        capacity = {"cpu": "8", "memory": "16Gi", "pods": "250"}
        status = {
            "conditions": [ready],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": NODE_NAME}],
            "capacity": capacity,
            "allocatable": capacity,
        }
        self._core.patch_node_status(
            NODE_NAME, {"status": status}, _content_type=MERGE_PATCH, _request_timeout=API_TIMEOUT
        )
