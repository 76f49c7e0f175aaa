"""What `rollcheck serve` is configured with: where it listens, who may call it, and how it acts.

The parsers raise ValueError naming only the problem; the command line turns that into a usage error (exit 4)
that names the flag, the value and where it came from.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from .._errors import ConfigError
from ..settings import Settings

__all__ = ["DEFAULT_LISTEN", "TOKEN_ENV_VAR", "Listen", "ServeConfig", "load_token"]

TOKEN_ENV_VAR = "ROLLCHECK_SERVE_TOKEN"  # noqa: S105 (the variable's name, not a token)
DEFAULT_LISTEN = "127.0.0.1:9095"


@dataclass(frozen=True)
class Listen:
    """The address the receiver binds."""

    host: str
    """An IP address (IPv6 without brackets), or a host name."""
    port: int
    """0 lets the kernel choose; the bound port is printed."""

    @classmethod
    def parse(cls, text: str) -> Listen:
        """`HOST:PORT`, `[IPV6]:PORT`. Raises ValueError on anything else."""
        host, sep, port_text = text.strip().rpartition(":")
        if not sep or not host:
            raise ValueError("expected HOST:PORT, for example 127.0.0.1:9095")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
            try:
                ipaddress.IPv6Address(host)
            except ValueError:
                raise ValueError(f"{host!r} is not an IPv6 address") from None
        elif ":" in host:
            raise ValueError("write an IPv6 address in brackets, for example [::1]:9095")
        if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            raise ValueError(f"port {port_text!r} is not a number from 0 to 65535")
        return cls(host, int(port_text))

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, kw_only=True, repr=False)
class ServeConfig:
    """Everything the receiver needs, resolved and checked before it binds."""

    settings: Settings
    """The run settings every rollback uses (kubeconfig, context, dry run, rollback on/off, rollout timeout,
    report directory); the target and namespace are filled in per alert."""
    listen: Listen = field(default_factory=lambda: Listen.parse(DEFAULT_LISTEN))
    """Where to listen."""
    token: str | None = None
    """The bearer token callers must send; None only with --no-auth. Never logged or shown."""
    allow_namespaces: frozenset[str] = frozenset()
    """When not empty, requests about any other namespace are refused (403) and change nothing."""
    cooldown: float = 600.0
    """Seconds after a rollback of a target during which further alerts for it are ignored."""
    verify_suite: Path | None = None
    """A check path run with `rollcheck run --no-rollback` before rolling back; if it passes, no rollback."""
    flagger_suite: Path | None = None
    """The check path `POST /flagger/check` runs against the canary's workload."""
    suite_timeout: float = 600.0
    """Seconds a verification or Flagger suite may run before it counts as inconclusive."""
    max_body_bytes: int = 1 << 20
    """Larger request bodies are refused with 413 (Alertmanager's payloads are a few kB per alert)."""

    def __repr__(self) -> str:
        auth = "bearer token" if self.token else "none"
        return f"ServeConfig(listen={self.listen}, auth={auth}, settings={self.settings!r})"


def load_token(token_file: Path | None, environ: Mapping[str, str]) -> str | None:
    """The token from --token-file, else from ROLLCHECK_SERVE_TOKEN; None when neither is given. The value
    never appears in an error."""
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "is not text"
            raise ConfigError("--token-file", str(token_file), "command line", f"cannot be read: {reason}") from None
        if not token:
            raise ConfigError("--token-file", str(token_file), "command line", "the file is empty")
        return token
    token = environ.get(TOKEN_ENV_VAR, "").strip()
    return token or None
