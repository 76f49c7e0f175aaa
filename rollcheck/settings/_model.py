"""The one resolved configuration of a run. Built only by the resolver; everything else reads this."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields
from pathlib import Path

from ..target._ref import TargetRef

__all__ = ["OnInconclusive", "Settings"]


class OnInconclusive(enum.StrEnum):
    """What to do when a check could not measure."""

    FAIL = "fail"
    """Fail the run with the inconclusive exit code; do not roll back (the default)."""
    ROLLBACK = "rollback"
    """Treat it like a failure and roll back."""
    PASS = "pass"  # noqa: S105 (an enum member, not a password)
    """Treat it as passed (not recommended: a release gate that cannot see lets everything through)."""


# A release that never answered 5xx has no 5xx series at all, so the numerator falls back to 0: without
# `or vector(0)` every healthy release would measure "no data".
DEFAULT_ERROR_RATE_QUERY = (
    '(sum(increase(http_requests_total{{{selector},code=~"5.."}}[{window}])) or vector(0))'
    " / sum(increase(http_requests_total{{{selector}}}[{window}]))"
)
DEFAULT_REQUESTS_QUERY = "sum(increase(http_requests_total{{{selector}}}[{window}]))"
DEFAULT_P99_QUERY = (
    "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{{selector}}}[{window}])))"
)


@dataclass(frozen=True, kw_only=True, repr=False)
class Settings:
    """Every option of a run, resolved from marker > CLI > ROLLCHECK_* > [tool.rollcheck] > default."""

    target: TargetRef | None = None
    """The workload under test, `KIND/NAME`. Without it rollcheck only checks and never acts."""
    namespace: str = "default"
    """Namespace of the target."""
    kubeconfig: Path | None = None
    """Kubeconfig file; default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account."""
    context: str | None = None
    """Kubeconfig context; default: the current context."""
    base_url: str | None = None
    """Where the release answers HTTP, for health checks and the `http` fixture."""
    health_paths: tuple[str, ...] = ("/health",)
    """Health endpoints, each checked separately."""
    health_attempts: int = 5
    """How many times a health endpoint is probed at most."""
    health_failures: int = 3
    """Consecutive failed probes that fail the health check."""
    health_interval: float = 1.0
    """Seconds between health probes."""
    http_timeout: float = 5.0
    """Timeout in seconds of one HTTP request (connect, read, write, pool)."""
    tls_verify: bool = True
    """Verify TLS certificates (HTTP and Prometheus). Turning it off prints a warning."""
    ca_file: Path | None = None
    """CA bundle for HTTPS endpoints and Prometheus."""
    prometheus_url: str | None = None
    """Prometheus base URL. Credentials come only from ROLLCHECK_PROMETHEUS_TOKEN or
    ROLLCHECK_PROMETHEUS_USERNAME/ROLLCHECK_PROMETHEUS_PASSWORD, never from flags or files in the repository."""
    selector: str | None = None
    """PromQL label matchers for the release's series; default: the pods of the target's newest ReplicaSet."""
    window: float = 60.0
    """Metric window in seconds, starting when the rollout completed."""
    max_error_rate: float = 0.01
    """Largest acceptable fraction of 5xx responses over the window."""
    max_p99_latency: float = 0.5
    """Largest acceptable 99th percentile latency, in seconds, over the window."""
    min_requests: int = 20
    """Below this many requests in the window the metric verdict is inconclusive, never a pass."""
    error_rate_query: str = DEFAULT_ERROR_RATE_QUERY
    """PromQL template for the error rate; `{selector}` and `{window}` are filled in."""
    requests_query: str = DEFAULT_REQUESTS_QUERY
    """PromQL template for the request count over the window."""
    p99_query: str = DEFAULT_P99_QUERY
    """PromQL template for the p99 latency."""
    rollback: bool = True
    """Roll back when the verdict is failed (`--no-rollback` turns it off)."""
    dry_run: bool = False
    """Record the rollback that would be done, without doing it."""
    expect_images: tuple[str, ...] = ()
    """Images the release under test must run; anything else is refused as not the release CI deployed."""
    rollout_timeout: float = 300.0
    """Seconds to wait for a rollout (the release's and the rollback's) to complete."""
    check_timeout: float = 300.0
    """Default pytest-timeout of each check, in seconds (signal method, so the reports still get written)."""
    report_dir: Path = field(default_factory=lambda: Path("rollcheck-report"))
    """Where report.json, JUnit, HTML and Allure results go."""
    on_inconclusive: OnInconclusive = OnInconclusive.FAIL
    """What an inconclusive verdict does."""

    def __repr__(self) -> str:
        # Only what differs from the defaults: a failing check's traceback stays readable.
        defaults = Settings()
        changed = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in fields(self)
            if getattr(self, f.name) != getattr(defaults, f.name)
        ]
        return f"Settings({', '.join(changed)})"
