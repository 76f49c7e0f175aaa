"""The connection to the Kubernetes API: credentials, timeouts, retries, and objects read as raw JSON.

Workload templates are read and written as raw JSON dicts, never through the client's typed models: a model
drops every field its client version does not know, and a template that lost a field no longer equals its
ReplicaSet's, so a rollback would create a new ReplicaSet (and lose the field) instead of restoring the old one.
"""

from __future__ import annotations

import functools
import gc
import json
import os
from collections.abc import Callable
from collections.abc import Generator
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any
from typing import TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.client.rest import RESTResponse

from ._errors import CALL_ERRORS
from ._errors import translate
from ._kubeconfig import load_in_cluster
from ._kubeconfig import load_kubeconfig
from ._retry import RetryPolicy
from ._retry import call_with_retries

__all__ = ["JSON_PATCH", "MERGE_PATCH", "Kube", "connect"]

T = TypeVar("T")
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"

#: kind → (API group path, resource). Adding a kind here is all the raw helpers need.
_RESOURCES: dict[str, tuple[str, str]] = {
    "deployment": ("/apis/apps/v1", "deployments"),
    "replicaset": ("/apis/apps/v1", "replicasets"),
    "statefulset": ("/apis/apps/v1", "statefulsets"),
    "daemonset": ("/apis/apps/v1", "daemonsets"),
    "controllerrevision": ("/apis/apps/v1", "controllerrevisions"),
    "pod": ("/api/v1", "pods"),
    "event": ("/api/v1", "events"),
}
_NO_RETRY = RetryPolicy(backoffs=())
#: A watch's read timeout exceeds its server-side timeoutSeconds by this much, so the server ends it first.
_WATCH_SLACK = 10.0


class _TimeoutApiClient(client.ApiClient):
    """An ApiClient whose requests all carry a timeout, also those made through the typed APIs."""

    def __init__(self, configuration: client.Configuration, timeout: float) -> None:
        super().__init__(configuration)
        self.default_timeout = timeout

    def call_api(
        self,
        method: Any,
        url: Any,
        header_params: Any = None,
        body: Any = None,
        post_params: Any = None,
        _request_timeout: Any = None,
    ) -> RESTResponse:
        return super().call_api(
            method, url, header_params, body, post_params, _request_timeout=_request_timeout or self.default_timeout
        )


class Kube:
    """A Kubernetes API connection: typed APIs for convenience, raw JSON helpers for anything rolled back.

    Every helper retries transient failures (see `RetryPolicy`) and raises rollcheck's errors only. Requests
    time out after `timeout` seconds; through the typed APIs too when the client comes from `connect`.
    """

    def __init__(self, api: client.ApiClient, *, timeout: float = 10.0, retry: RetryPolicy | None = None) -> None:
        self.api = api
        self.timeout = timeout
        """Seconds a single request may take."""
        self.retry = retry or RetryPolicy()

    def __repr__(self) -> str:
        return f"Kube(host={self.api.configuration.host!r})"

    def __enter__(self) -> Kube:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.api.close()  # type: ignore[no-untyped-call]

    @functools.cached_property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api)

    @functools.cached_property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    def call(self, operation: str, call: Callable[[], T]) -> T:
        """Run a typed-API call with rollcheck's retries and error translation:
        `kube.call("list pods prod", lambda: kube.core.list_namespaced_pod("prod"))`."""
        return call_with_retries(operation, call, policy=self.retry)

    def get_raw(self, kind: str, name: str, namespace: str) -> dict[str, Any]:
        """GET one object as raw JSON."""
        path = f"{_collection(kind, namespace)}/{name}"
        return self.call(f"get {kind} {namespace}/{name}", lambda: self._json("GET", path))

    def list_raw(
        self, kind: str, namespace: str, label_selector: str | None = None, *, field_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """LIST objects as raw JSON, following `continue` tokens page by page."""
        return self.list_versioned(kind, namespace, label_selector, field_selector=field_selector)[0]

    def list_versioned(
        self,
        kind: str,
        namespace: str,
        label_selector: str | None = None,
        *,
        field_selector: str | None = None,
        limit: int = 250,
    ) -> tuple[list[dict[str, Any]], str]:
        """Like `list_raw`, with the list's resourceVersion (where a watch picks up)."""
        query: list[tuple[str, str]] = [("limit", str(limit))]
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        items: list[dict[str, Any]] = []
        version = ""
        token = ""
        operation = f"list {kind} {namespace}" + (f" ({label_selector or field_selector})" if query[1:] else "")
        while True:
            page_query = [*query, ("continue", token)] if token else query
            page = self.call(operation, functools.partial(self._json, "GET", _collection(kind, namespace), page_query))
            items.extend(page.get("items") or [])
            metadata = page.get("metadata") or {}
            # Every page of a paginated list is read from one snapshot: the first page's version is the list's.
            version = version or str(metadata.get("resourceVersion") or "")
            token = str(metadata.get("continue") or "")
            if not token:
                return items, version

    def create_raw(self, kind: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST one object and return it as raw JSON. A retry after a lost answer may find it created already
        (409): give it a fixed `metadata.name` where that matters."""
        name = (body.get("metadata") or {}).get("name") or "(generated name)"
        return self.call(
            f"create {kind} {namespace}/{name}",
            lambda: self._json("POST", _collection(kind, namespace), body=body, content_type="application/json"),
        )

    def patch_raw(
        self,
        kind: str,
        name: str,
        namespace: str,
        body: list[dict[str, Any]] | dict[str, Any],
        content_type: str,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """PATCH one object and return it as raw JSON; with `dry_run` the server runs every stage but storing."""
        path = f"{_collection(kind, namespace)}/{name}"
        query = [("dryRun", "All")] if dry_run else []
        verb = "patch (server dry run)" if dry_run else "patch"
        return self.call(
            f"{verb} {kind} {namespace}/{name}",
            lambda: self._json("PATCH", path, query, body=body, content_type=content_type),
        )

    def ping(self) -> None:
        """One cheap request (GET /version, readable by every client), not retried: it keeps a pooled connection
        from being closed as idle. Raises rollcheck's error if it fails."""
        call_with_retries("ping the API server", lambda: self._json("GET", "/version"), policy=_NO_RETRY)

    def watch_raw(
        self,
        kind: str,
        namespace: str,
        *,
        resource_version: str,
        timeout_seconds: int,
        field_selector: str | None = None,
    ) -> Generator[dict[str, Any], None, None]:
        """Watch events (`{"type": …, "object": {…}}`) from `resource_version` until the server ends the watch
        after `timeout_seconds`. An ERROR event (410 Gone: the version is too old) is raised as rollcheck's error;
        a dropped connection as ClusterUnavailable: the caller re-lists and watches again."""
        query = [
            ("watch", "true"),
            ("resourceVersion", resource_version),
            ("timeoutSeconds", str(timeout_seconds)),
            ("allowWatchBookmarks", "true"),
        ]
        if field_selector:
            query.append(("fieldSelector", field_selector))
        operation = f"watch {kind} {namespace}" + (f" ({field_selector})" if field_selector else "")
        timeouts = (self.timeout, timeout_seconds + _WATCH_SLACK)
        response = self.call(
            operation, lambda: self._send("GET", _collection(kind, namespace), query, request_timeout=timeouts)
        )
        try:
            for line in _lines(response):
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    error = ApiException(
                        status=status.get("code") or 500,
                        reason=status.get("reason") or "Error",
                        body=json.dumps(status),
                    )
                    raise translate(error, operation)
                yield event
        except CALL_ERRORS as error:
            raise translate(error, operation) from None  # no chained ApiException: headers, whole body
        finally:
            response.response.close()
            response.response.release_conn()

    def _json(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None = None,
        *,
        body: object = None,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        response = self._send(method, path, query, body=body, content_type=content_type)
        try:
            data = response.response.data
        finally:
            response.response.release_conn()
        try:
            document = _decode(data)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            # A proxy's error page with a 200, say: treated like a bad gateway (retried, then reported).
            raise ApiException(status=502, reason="Bad Gateway", body=f"not a JSON object: {data[:200]!r}")
        return document

    def _send(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None = None,
        *,
        body: object = None,
        content_type: str | None = None,
        request_timeout: float | tuple[float, float] | None = None,
    ) -> RESTResponse:
        """One request, raising ApiException on a non-2xx answer (as the typed APIs do)."""
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        method, url, headers, body, post = self.api.param_serialize(
            method=method,
            resource_path=path,
            query_params=query or None,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self.api.call_api(method, url, headers, body, post, _request_timeout=request_timeout or self.timeout)
        if not 200 <= response.status <= 299:
            error = ApiException(http_resp=response.response)  # reads the body, so the connection can go back
            response.response.release_conn()
            raise error
        return response


def connect(
    *, kubeconfig: Path | None, context: str | None, timeout: float = 10.0, retry: RetryPolicy | None = None
) -> Kube:
    """Connect as kubectl would: the given kubeconfig, else $KUBECONFIG, else the pod's service account when
    running in a pod, else ~/.kube/config. Raises KubeconfigError naming the file and context on failure."""
    configuration = client.Configuration()
    # One retry loop, ours: urllib3's own retries would multiply the attempts and hide each failure from the log.
    configuration.retries = False
    environment = os.environ.get("KUBECONFIG", "")
    if kubeconfig is None and not environment and context is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        load_in_cluster(configuration)
    else:
        load_kubeconfig(configuration, kubeconfig, environment, context)
    return Kube(_TimeoutApiClient(configuration, timeout), timeout=timeout, retry=retry)


def _collection(kind: str, namespace: str) -> str:
    try:
        group, resource = _RESOURCES[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}; known: {', '.join(sorted(_RESOURCES))}") from None
    return f"{group}/namespaces/{namespace}/{resource}"


def _decode(data: bytes) -> object:
    """json.loads without the cyclic garbage collector: decoding a long list (a Deployment's ReplicaSet history)
    allocates enough objects to set off collections, a full one now and then that scans every object of the
    process for tens of milliseconds, while a decoded document holds no reference cycle for it to find."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return json.loads(data)
    finally:
        if collecting:
            gc.enable()


def _lines(response: RESTResponse) -> Iterator[str]:
    """The lines of a streamed response as they arrive (each watch event is one JSON line)."""
    buffer = b""
    for chunk in response.response.stream(amt=None):
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            if line.strip():
                yield line.decode("utf-8", "replace")
