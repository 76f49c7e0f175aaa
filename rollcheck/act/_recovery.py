"""After a rollback: did health recover? The same health probes the checks use, against the restored revision."""

from __future__ import annotations

from ..settings import Settings

__all__ = ["check_recovery"]


def check_recovery(settings: Settings) -> tuple[bool, str]:
    """(recovered, what was seen). Without a base URL the completed rollout (every pod Ready) is the evidence."""
    if settings.base_url is None:
        return True, "the restored rollout completed (no --base-url, so no health endpoint was probed)"
    from ..measure import http_client
    from ..measure import probe_health

    seen = []
    recovered = True
    with http_client(settings) as client:
        for path in settings.health_paths:
            result = probe_health(
                client,
                path,
                attempts=settings.health_attempts,
                failures=settings.health_failures,
                interval=settings.health_interval,
            )
            recovered &= result.passed
            seen.append(result.message)
    return recovered, "; ".join(seen)
