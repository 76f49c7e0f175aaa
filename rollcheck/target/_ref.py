"""What is being verified: a workload named `KIND/NAME`."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

__all__ = ["TargetKind", "TargetRef"]

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


class TargetKind(enum.StrEnum):
    DEPLOYMENT = "deployment"
    STATEFULSET = "statefulset"
    DAEMONSET = "daemonset"
    HELM = "helm"


_ALIASES = {
    "deploy": TargetKind.DEPLOYMENT,
    "deployments": TargetKind.DEPLOYMENT,
    "deployment.apps": TargetKind.DEPLOYMENT,
    "sts": TargetKind.STATEFULSET,
    "statefulsets": TargetKind.STATEFULSET,
    "ds": TargetKind.DAEMONSET,
    "daemonsets": TargetKind.DAEMONSET,
}


@dataclass(frozen=True)
class TargetRef:
    kind: TargetKind
    """The workload kind; each kind has its own rollback engine."""
    name: str
    """The object's name (a DNS subdomain), or the Helm release name."""

    @classmethod
    def parse(cls, text: str) -> TargetRef:
        """Parse `deployment/shop` (kubectl's short kinds are accepted). Raises ValueError on anything else."""
        kind_text, sep, name = text.strip().partition("/")
        if not sep or not name:
            raise ValueError("expected KIND/NAME, for example deployment/shop")
        kind_text = kind_text.lower()
        try:
            kind = _ALIASES.get(kind_text) or TargetKind(kind_text)
        except ValueError:
            kinds = ", ".join(k.value for k in TargetKind)
            raise ValueError(f"unknown kind {kind_text!r}; expected one of {kinds}") from None
        if not _NAME.match(name):
            raise ValueError(f"{name!r} is not a valid Kubernetes object name")
        return cls(kind, name)

    def __str__(self) -> str:
        return f"{self.kind.value}/{self.name}"

    def __repr__(self) -> str:
        return f"TargetRef({str(self)!r})"
