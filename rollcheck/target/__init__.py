"""target: what is being verified (KIND/NAME) and the release read from the cluster."""

from __future__ import annotations

from ._ref import TargetKind
from ._ref import TargetRef
from ._release import Release
from ._release import version_from_image

__all__ = ["Release", "TargetKind", "TargetRef", "version_from_image"]
