"""The exit codes of `rollcheck run` (and of pytest with the rollcheck plugin enabled)."""

from __future__ import annotations

import enum

__all__ = ["ExitCode"]


class ExitCode(enum.IntEnum):
    """What the process exit status says about the release. CI can branch on these."""

    PASSED = 0
    """Every gating check passed; nothing was touched."""
    FAILED = 1
    """A gating check failed. The release was rolled back, or the rollback was dry-run or disabled."""
    INTERRUPTED = 2
    """The run was interrupted (Ctrl-C, SIGTERM). Never rolls back."""
    INTERNAL_ERROR = 3
    """rollcheck or pytest itself broke. Never rolls back."""
    USAGE_ERROR = 4
    """A bad option, configuration value or command line. Never rolls back."""
    NO_CHECKS = 5
    """No checks were collected. Never rolls back."""
    ROLLBACK_FAILED = 6
    """A gating check failed and the rollback failed, was impossible or was refused as unsafe."""
    INCONCLUSIVE = 7
    """A check could not measure (no data, Prometheus or the cluster unreachable), so there is no trustworthy
    verdict. No rollback unless `--on-inconclusive rollback`."""
