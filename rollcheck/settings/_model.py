"""The one resolved configuration of a run. Built only by the resolver; everything else reads this."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields
from pathlib import Path

from ..target._ref import TargetRef

__all__ = ["SECRET_URL_FILES", "BaselineMode", "Direction", "NotifyOn", "OnInconclusive", "Settings"]


class OnInconclusive(enum.StrEnum):
    """What to do when a check could not measure."""

    FAIL = "fail"
    """Fail the run with the inconclusive exit code; do not roll back (the default)."""
    ROLLBACK = "rollback"
    """Treat it like a failure and roll back."""
    PASS = "pass"  # noqa: S105 (an enum member, not a password)
    """Treat it as passed (not recommended: a release gate that cannot see lets everything through)."""


class BaselineMode(enum.StrEnum):
    """What the release is compared with by the baseline check."""

    OFF = "off"
    """No baseline comparison (the default): the baseline check is skipped."""
    PREVIOUS_PODS = "previous-pods"
    """The previous ReplicaSet's pods, over the same window, while both run (a canary)."""
    BEFORE_ROLLOUT = "before-rollout"
    """The same workload over an equally long window that ended when the rollout started."""


class Direction(enum.StrEnum):
    """Which change of a metric is bad."""

    INCREASE = "increase"
    """Higher is worse (error ratio, latency): the default."""
    DECREASE = "decrease"
    """Lower is worse (throughput, hit ratio)."""
    EITHER = "either"
    """Any change is suspicious."""


class NotifyOn(enum.StrEnum):
    """Which runs send notifications (Kubernetes Events are created for every rollback decision regardless)."""

    ROLLBACK = "rollback"
    """Every rollback decision: rolled back, rollback failed, skipped, dry run."""
    FAILURE = "failure"
    """Those, and every failed or inconclusive verdict (the default)."""
    ALWAYS = "always"
    """Every run, passed ones too."""
    NEVER = "never"
    """No messages."""


#: The notification URLs, which carry their receiver's secret (Slack's path, WeCom's key), and the option
#: that reads each from a file instead. Settings' repr, errors and reports show them as hidden.
SECRET_URL_FILES = {
    "notify_slack_url": "notify_slack_url_file",
    "notify_wecom_url": "notify_wecom_url_file",
    "notify_webhook_url": "notify_webhook_url_file",
}


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
    helm: str = "helm"
    """The helm executable for helm/RELEASE targets: a name looked up on PATH, or a path."""
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
    watch: float = 0.0
    """Analysis over time: repeat the metric checks for this many seconds after the first pass (0: no watch)."""
    interval: float = 60.0
    """Seconds between the watch's rounds; each round measures the metric checks over the last interval."""
    failure_limit: int = 3
    """During a watch: this many failed measurements of one metric check fail the release."""
    consecutive_failure_limit: int = 2
    """During a watch: this many failed measurements of one metric check in a row fail the release."""
    inconclusive_limit: int = 3
    """During a watch: this many measurements of one metric check that could not judge (too few requests, no
    data, Prometheus unreachable) make the analysis inconclusive."""
    error_rate_query: str = DEFAULT_ERROR_RATE_QUERY
    """PromQL template for the error rate; `{selector}` and `{window}` are filled in."""
    requests_query: str = DEFAULT_REQUESTS_QUERY
    """PromQL template for the request count over the window."""
    p99_query: str = DEFAULT_P99_QUERY
    """PromQL template for the p99 latency."""
    baseline: BaselineMode = BaselineMode.OFF
    """What the baseline check compares the release with; off by default."""
    baseline_confidence: float = 0.95
    """A difference from the baseline counts when the Mann-Whitney p-value is below 1 - this."""
    baseline_tolerance: float = 0.10
    """A relative change of the mean up to this (0.10 is 10%) is no failure, however significant."""
    baseline_direction: Direction = Direction.INCREASE
    """Which change from the baseline is bad."""
    baseline_step: float = 10.0
    """Seconds per sample: each sample is the metric over one step of a range query."""
    baseline_min_samples: int = 5
    """Fewer samples than this on either side make the comparison inconclusive."""
    baseline_selector: str | None = None
    """PromQL label matchers of the baseline's series; default: derived from the target's ReplicaSets."""
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
    confirm_reruns: int = 1
    """How often a failed gating check is re-run before its failure counts (0: never); `rollcheck_confirm`
    overrides it per check."""
    confirm_backoff: float = 1.0
    """Seconds before the first re-run of a failed check; doubled before each further one."""
    report_dir: Path = field(default_factory=lambda: Path("rollcheck-report"))
    """Where report.json, JUnit, HTML and Allure results go."""
    on_inconclusive: OnInconclusive = OnInconclusive.FAIL
    """What an inconclusive verdict does."""
    require_rollback_ready: bool = False
    """Fail the run before any check if preflight finds that a rollback would not be possible (no previous
    revision, `revisionHistoryLimit: 0`, paused, no right to patch the target); otherwise those are warnings."""
    notify_on: NotifyOn = NotifyOn.FAILURE
    """Which runs send notifications."""
    notify_slack_url: str | None = None
    """Slack incoming-webhook URL (a secret)."""
    notify_slack_url_file: Path | None = None
    """A file holding the Slack URL instead."""
    notify_wecom_url: str | None = None
    """WeCom group robot webhook URL, with its `key` (a secret)."""
    notify_wecom_url_file: Path | None = None
    """A file holding the WeCom URL instead."""
    notify_webhook_url: str | None = None
    """A URL that receives the report summary as JSON (a secret: it may carry a token)."""
    notify_webhook_url_file: Path | None = None
    """A file holding the webhook URL instead."""

    def __repr__(self) -> str:
        # Only what differs from the defaults: a failing check's traceback stays readable.
        defaults = Settings()
        changed = [
            f"{f.name}={'<hidden>' if f.name in SECRET_URL_FILES else repr(getattr(self, f.name))}"
            for f in fields(self)
            if getattr(self, f.name) != getattr(defaults, f.name)
        ]
        return f"Settings({', '.join(changed)})"
