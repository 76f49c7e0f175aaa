"""Helm releases of the test chart on the local environment: the fixtures live in helm_support, shared with the
preflight and serve tests."""

from __future__ import annotations

from helm_support import chart_packages
from helm_support import helm_binary
from helm_support import helm_release

__all__ = ["chart_packages", "helm_binary", "helm_release"]
