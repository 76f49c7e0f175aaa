"""The exit codes of `rollcheck run` (and of pytest with the rollcheck plugin enabled)."""

from __future__ import annotations

import enum

__all__ = ["ExitCode"]


class ExitCode(enum.IntEnum):
    """What the process exit status says about the release. CI can branch on these."""

    PASSED = 0
    """Every gating check passed; nothing was touched."""
    FAILED = 1
    """A gating check failed. The release was rolled back and recovered, or the rollback was dry-run, disabled,
    or skipped on purpose (already at that revision, or something was deployed after the verified release)."""
    INTERRUPTED = 2
    """The run was interrupted (Ctrl-C, SIGTERM) before deciding, or a check file failed to load. Never rolls
    back; the report is still written."""
    INTERNAL_ERROR = 3
    """rollcheck or pytest itself broke. Never rolls back."""
    USAGE_ERROR = 4
    """A bad option, configuration value or command line. Never rolls back."""
    NO_CHECKS = 5
    """No checks were collected. Never rolls back."""
    ROLLBACK_FAILED = 6
    """A gating check failed and the rollback failed, was impossible (paused, no history), did not restore
    health, or has an unknown outcome (interrupted while rolling back, no answer to the PATCH)."""
    INCONCLUSIVE = 7
    """A check could not measure (no data, Prometheus or the cluster unreachable), so there is no trustworthy
    verdict. No rollback unless `--on-inconclusive rollback`."""
