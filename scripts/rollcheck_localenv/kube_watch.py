"""List-and-watch caches: the node agent's always-current view of pods, ReplicaSets and workloads.

Each ResourceWatcher thread lists one resource across all namespaces, then watches it from the list's
resourceVersion. A dropped or failed watch resumes from the last resourceVersion seen, after a back-off;
``410 Gone`` (the version has been compacted away) means relist. Nothing the network does stops the thread.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any

from kubernetes.client.exceptions import ApiException

from .kube_objects import KubeObject
from .kube_objects import ObjectKey

LOG = logging.getLogger("rollcheck_localenv.node_agent")

WATCH_SECONDS = 240
"""Server-side watch duration; the watch is simply resumed when it ends."""
LIST_TIMEOUT = (5.0, 30.0)
WATCH_TIMEOUT = (5.0, WATCH_SECONDS + 30.0)
"""Client-side read timeout, a little longer than the server's, so a silently dead connection is noticed."""
HTTP_GONE = 410


def describe_error(error: BaseException) -> str:
    """A one-line account of an API call failure, without urllib3's retry wrapping."""
    if isinstance(error, ApiException):
        return f"HTTP {error.status} {error.reason}"
    cause = getattr(error, "reason", None)  # MaxRetryError wraps the connection error that matters
    return f"{type(error).__name__}: {cause or error}"


class Backoff:
    """Exponential delays for retrying: initial, 2x initial, ... up to maximum; reset after a success."""

    def __init__(self, initial: float = 0.5, maximum: float = 30.0) -> None:
        self._initial = initial
        self._maximum = maximum
        self._next = initial

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self._maximum)
        return delay

    def reset(self) -> None:
        self._next = self._initial


class ObjectCache:
    """The latest version of every object of one resource, keyed by namespace and name; thread-safe."""

    def __init__(self, resource: str) -> None:
        self.resource = resource
        self._objects: dict[ObjectKey, KubeObject] = {}
        self._lock = threading.Lock()
        self.synced = threading.Event()
        """Set once the first list has been loaded."""

    def replace_all(self, objects: list[KubeObject]) -> None:
        with self._lock:
            self._objects = {ObjectKey.of(obj): obj for obj in objects}
        self.synced.set()

    def apply(self, event_type: str, obj: KubeObject) -> None:
        key = ObjectKey.of(obj)
        with self._lock:
            if event_type == "DELETED":
                self._objects.pop(key, None)
            else:
                self._objects[key] = obj

    def snapshot(self) -> dict[ObjectKey, KubeObject]:
        with self._lock:
            return dict(self._objects)


class ResourceWatcher(threading.Thread):
    """Keeps one ObjectCache in step with the API server for as long as the agent runs."""

    def __init__(self, list_call: Callable[..., Any], cache: ObjectCache, stop: threading.Event) -> None:
        super().__init__(name=f"watch-{cache.resource}", daemon=True)
        self._list_call = list_call
        self._cache = cache
        self._stop_requested = stop
        self._resource_version: str | None = None
        self._backoff = Backoff()

    def run(self) -> None:
        while not self._stop_requested.is_set():
            try:
                if self._resource_version is None:
                    self._relist()
                self._watch()
                self._backoff.reset()
            except ApiException as error:
                if error.status == HTTP_GONE:
                    LOG.info("%s watch expired (410 Gone); relisting", self._cache.resource)
                    self._resource_version = None
                    continue
                self._pause(describe_error(error))
            except Exception as error:
                # Connection resets, timeouts, truncated chunks, bad JSON: all are retried, none ends the watch.
                self._pause(describe_error(error))

    def _pause(self, problem: str) -> None:
        delay = self._backoff.next_delay()
        LOG.warning("%s list/watch failed (%s); retrying in %.1fs", self._cache.resource, problem, delay)
        self._stop_requested.wait(delay)

    def _relist(self) -> None:
        response = self._list_call(_preload_content=False, _request_timeout=LIST_TIMEOUT)
        body = json.loads(response.data)
        response.release_conn()
        items = body.get("items") or []
        self._cache.replace_all(items)
        self._resource_version = body["metadata"]["resourceVersion"]
        LOG.info("%s listed: %d at resourceVersion %s", self._cache.resource, len(items), self._resource_version)

    def _watch(self) -> None:
        response = self._list_call(
            watch=True,
            resource_version=self._resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=WATCH_SECONDS,
            _preload_content=False,
            _request_timeout=WATCH_TIMEOUT,
        )
        try:
            for line in _event_lines(response):
                if self._stop_requested.is_set():
                    return
                self._handle(json.loads(line))
        finally:
            response.close()  # an unfinished stream must not go back into the connection pool
            response.release_conn()

    def _handle(self, event: Mapping[str, Any]) -> None:
        obj = event["object"]
        if event["type"] == "ERROR":
            # A Status object; 410 means the resourceVersion is too old and the caller must relist.
            raise ApiException(status=obj.get("code"), reason=obj.get("reason") or obj.get("message"))
        self._resource_version = obj["metadata"]["resourceVersion"]
        if event["type"] != "BOOKMARK":
            self._cache.apply(event["type"], obj)


def _event_lines(response: Any) -> Iterator[bytes]:
    """The newline-delimited JSON events of a watch response, as they arrive."""
    pending = b""
    for chunk in response.stream(amt=None):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from (line for line in complete if line.strip())
