"""The list-and-watch loop: resuming from the last resourceVersion, and relisting after 410 Gone.

A real API server compacts old resourceVersions only every few minutes, so 410 Gone and a stream that
breaks mid-way cannot be produced on demand; a scripted stand-in for the list/watch endpoint plays them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

from urllib3.exceptions import ProtocolError

from localenv_support import eventually
from rollcheck_localenv.kube_objects import ObjectKey
from rollcheck_localenv.kube_watch import ObjectCache
from rollcheck_localenv.kube_watch import ResourceWatcher


def pod(name: str, version: str) -> dict[str, Any]:
    return {"metadata": {"namespace": "prod", "name": name, "resourceVersion": version}}


class ScriptedResponse:
    """A list body, or a watch stream of events that may end with an exception or hang until released."""

    def __init__(
        self, *, body: Any = None, events: list[Any] | None = None, released: threading.Event | None = None
    ) -> None:
        self.data = json.dumps(body).encode() if body is not None else b""
        self._events = events or []
        self._released = released

    def stream(self, amt: int | None = None) -> Iterator[bytes]:
        for event in self._events:
            if isinstance(event, Exception):
                raise event
            yield (json.dumps(event) + "\n").encode()
        if self._released is not None:
            self._released.wait()

    def close(self) -> None:
        pass

    def release_conn(self) -> None:
        pass


class ScriptedApiServer:
    """Answers list and watch calls from scripts, recording the resourceVersions the watches start at."""

    def __init__(self, lists: list[dict[str, Any]], watches: list[list[Any]]) -> None:
        self._lists, self._watches = lists, watches
        self.watched_from: list[str] = []
        self.released = threading.Event()

    def __call__(self, **kwargs: Any) -> ScriptedResponse:
        if not kwargs.get("watch"):
            return ScriptedResponse(body=self._lists.pop(0))
        self.watched_from.append(kwargs["resource_version"])
        events = self._watches.pop(0) if self._watches else []
        return ScriptedResponse(events=events, released=None if self._watches or events else self.released)


def run_watcher(server: ScriptedApiServer, until: Any) -> ObjectCache:
    cache, stop = ObjectCache("pods"), threading.Event()
    ResourceWatcher(server, cache, stop).start()
    try:
        eventually(until, timeout=10, what="the watcher to get there")
    finally:
        stop.set()
        server.released.set()
    return cache


def test_410_gone_relists_and_watches_from_the_new_version() -> None:
    gone = {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}}
    server = ScriptedApiServer(
        lists=[
            {"metadata": {"resourceVersion": "10"}, "items": [pod("a", "5")]},
            {"metadata": {"resourceVersion": "20"}, "items": [pod("c", "19")]},
        ],
        watches=[[{"type": "ADDED", "object": pod("b", "11")}, gone], []],
    )

    cache = run_watcher(server, lambda: len(server.watched_from) >= 2)

    assert server.watched_from == ["10", "20"]
    assert set(cache.snapshot()) == {ObjectKey("prod", "c")}


def test_broken_stream_resumes_from_the_last_version_seen() -> None:
    server = ScriptedApiServer(
        lists=[{"metadata": {"resourceVersion": "10"}, "items": [pod("a", "5")]}],
        watches=[
            [{"type": "ADDED", "object": pod("b", "11")}, ProtocolError("connection reset")],
            [{"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "15"}}}],
            [{"type": "DELETED", "object": pod("a", "16")}],
        ],
    )

    cache = run_watcher(server, lambda: len(server.watched_from) >= 4)

    assert server.watched_from == ["10", "11", "15", "16"]
    assert set(cache.snapshot()) == {ObjectKey("prod", "b")}
