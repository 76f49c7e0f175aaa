"""The run's one Kubernetes connection: opened when the release under test is read, kept warm while the checks
run, and handed to the rollback, so a failed verdict is acted on without a kubeconfig load or a TLS handshake.

The API server closes a connection that has been idle for 90 seconds, and the checks usually run longer than
that: while the connection is open, a daemon thread pings the server so that it never sits idle that long.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from ..settings import Settings

if TYPE_CHECKING:
    from ..kube import Kube

__all__ = ["KEEPALIVE_SECONDS", "SessionConnection"]

logger = logging.getLogger("rollcheck.act")

KEEPALIVE_SECONDS = 30.0
"""How often an open session connection pings the API server: well inside its 90-second idle timeout, and
inside the 60 seconds many load balancers in front of an API server allow."""


class SessionConnection:
    """Opened once (`open`), used by whatever needs the cluster during the run, closed once (`close`).

    Nothing is imported or connected before `open`: a run without a target never loads the Kubernetes client."""

    def __init__(self, settings: Settings, *, keepalive_seconds: float = KEEPALIVE_SECONDS) -> None:
        self.settings = settings
        self.keepalive_seconds = keepalive_seconds
        self._kube: Kube | None = None
        self._closed = threading.Event()
        self._keepalive: threading.Thread | None = None

    @property
    def kube(self) -> Kube | None:
        """The open connection; None before `open` succeeded or after `close`."""
        return None if self._closed.is_set() else self._kube

    def open(self) -> Kube:
        """Connect (the first call) and start the keepalive; later calls return the same connection. Raises
        KubeconfigError (naming the file and context) when the credentials cannot be loaded."""
        if self._closed.is_set():
            raise RuntimeError("the session connection is closed")
        if self._kube is None:
            from ..kube import connect  # here: a run that never opens the connection never loads the client

            self._kube = connect(kubeconfig=self.settings.kubeconfig, context=self.settings.context)
            self._keepalive = threading.Thread(
                target=self._ping_while_open, args=(self._kube,), name="rollcheck-keepalive", daemon=True
            )
            self._keepalive.start()
        return self._kube

    def close(self) -> None:
        """Stop the keepalive and close the connection; closing again does nothing."""
        if self._closed.is_set():
            return
        self._closed.set()
        if self._keepalive is not None:
            # A ping under way ends within its own request timeout; the thread is a daemon, so nobody waits longer.
            self._keepalive.join(timeout=1.0)
        if self._kube is not None:
            self._kube.close()

    def _ping_while_open(self, kube: Kube) -> None:
        while not self._closed.wait(self.keepalive_seconds):
            try:
                kube.ping()
            except Exception as error:  # a failed ping costs only warmth: the next request connects again
                logger.debug("keepalive ping failed: %s", error)
