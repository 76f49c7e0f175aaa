"""The option table: one entry per Settings field, shared by the resolver, `rollcheck run` and the pytest plugin.

Each option is spelled four ways, all derived from the entry so they cannot drift apart:

- the `rollcheck run` flag, `--max-error-rate` (some have a short form, `-t`, `-n`);
- the pytest option, `--rollcheck-max-error-rate`;
- the environment variable, `ROLLCHECK_MAX_ERROR_RATE` (lists comma-separated, booleans 1/0/true/false/yes/no);
- the config-file key, `max-error-rate` (or `max_error_rate`) in `[tool.rollcheck]`.

Switch flags name the change they make: `--no-rollback` sets `rollback` to false and `--insecure-skip-tls-verify`
sets `tls_verify` to false; the variable and the key keep the field's own name (`ROLLCHECK_ROLLBACK=0`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._model import SECRET_URL_FILES
from ._model import Settings
from ._parse import format_duration
from ._parse import parse_baseline_mode
from ._parse import parse_bool
from ._parse import parse_confidence
from ._parse import parse_count
from ._parse import parse_direction
from ._parse import parse_duration
from ._parse import parse_fraction
from ._parse import parse_health_path
from ._parse import parse_image
from ._parse import parse_interval
from ._parse import parse_namespace
from ._parse import parse_notify_on
from ._parse import parse_on_inconclusive
from ._parse import parse_path
from ._parse import parse_positive_count
from ._parse import parse_positive_duration
from ._parse import parse_query_template
from ._parse import parse_secret_url
from ._parse import parse_selector
from ._parse import parse_target
from ._parse import parse_text
from ._parse import parse_tolerance
from ._parse import parse_url
from ._parse import sequence_of

__all__ = ["OPTIONS", "OPTIONS_BY_NAME", "PYTEST_PREFIX", "Kind", "Option"]

PYTEST_PREFIX = "--rollcheck-"
"""Every `rollcheck run` flag is also a pytest option under this prefix: `--window` is `--rollcheck-window`."""

# Defaults longer than this (the PromQL templates) are left out of --help, where they would swamp the text.
_MAX_DEFAULT_IN_HELP = 40


class Kind(enum.Enum):
    """How an option is given on a command line."""

    VALUE = "value"
    """`--flag VALUE`."""
    REPEATABLE = "repeatable"
    """`--flag VALUE`, once per item; the variable and the key take a comma-separated list or a TOML array."""
    SWITCH_ON = "switch on"
    """`--flag` alone sets the field to true."""
    SWITCH_OFF = "switch off"
    """`--flag` alone sets the field to false."""


def _listed(values: tuple[object, ...]) -> str:
    return ", ".join(str(value) for value in values) or "none"


@dataclass(frozen=True, kw_only=True)
class Option:
    """One option: its field, how each source spells it, how it is parsed, and how it is shown."""

    name: str
    """The Settings field."""
    help: str
    """The one help text, shown by `rollcheck run --help`, `pytest --help` and the docs."""
    parse: Callable[[object], object]
    """Turns what the user wrote into the field's value; raises ValueError naming the problem."""
    kind: Kind = Kind.VALUE
    """How it is given on a command line."""
    flag_name: str | None = None
    """The long flag when it is not the field's name: `no-rollback` for `rollback`, `health-path` (one per
    flag) for `health_paths`."""
    short: str | None = None
    """A one-letter flag of `rollcheck run` (never of pytest, where `-n` belongs to xdist)."""
    metavar: str | None = None
    """The placeholder of the value in --help."""
    show: Callable[[Any], str] = str
    """Renders a value the way a user would write it (`1m30s` rather than `90.0`), for --help and the header."""
    per_check: bool = False
    """May a `rollcheck_settings` marker override it for one check? Only what a check reads while it measures;
    session-wide options (the target, clients, the rollback policy) would be silently ignored there."""

    @property
    def flag(self) -> str:
        """The long flag without its dashes: `max-error-rate` gives `--max-error-rate` and
        `--rollcheck-max-error-rate`."""
        return self.flag_name or self.config_key

    @property
    def secret(self) -> bool:
        """Its value is never shown: not in errors, --help, headers or the Settings repr."""
        return self.name in SECRET_URL_FILES

    @property
    def env_var(self) -> str:
        return f"ROLLCHECK_{self.name.upper()}"

    @property
    def config_key(self) -> str:
        return self.name.replace("_", "-")

    def describe(self, value: object) -> str:
        return "not set" if value is None else self.show(value)

    def argparse_arguments(self, *, prefix: str, dest: str, with_short: bool) -> tuple[list[str], dict[str, Any]]:
        """`add_argument`/`addoption` arguments. Defaults are None, so the resolver can tell "not given" apart."""
        flags = [prefix + self.flag]
        if with_short and self.short:
            flags.insert(0, "-" + self.short)
        help_text = self.help
        kwargs: dict[str, Any] = {"dest": dest, "default": None}
        if self.kind in {Kind.SWITCH_ON, Kind.SWITCH_OFF}:
            kwargs.update(action="store_const", const=self.kind is Kind.SWITCH_ON)
        else:
            kwargs.update(metavar=self.metavar, action="append" if self.kind is Kind.REPEATABLE else "store")
            default = getattr(_DEFAULTS, self.name)
            if default is not None and len(shown := self.describe(default)) <= _MAX_DEFAULT_IN_HELP:
                help_text += f" Default: {shown}."
        # argparse expands %-formats in help texts; a literal percent sign must not be read as one.
        kwargs["help"] = f"{help_text} [{self.env_var}]".replace("%", "%%")
        return flags, kwargs


_DEFAULTS = Settings()


def _hidden(value: object) -> str:
    return "<hidden>"


_DURATION: dict[str, Any] = {"metavar": "DURATION", "show": format_duration}

OPTIONS: tuple[Option, ...] = (
    Option(
        name="target",
        short="t",
        metavar="KIND/NAME",
        parse=parse_target,
        help="The workload under test: deployment/NAME, statefulset/NAME, daemonset/NAME or helm/RELEASE. "
        "Without it rollcheck only checks and never acts.",
    ),
    Option(
        name="namespace",
        short="n",
        metavar="NAMESPACE",
        parse=parse_namespace,
        help="Namespace of the target.",
    ),
    Option(
        name="kubeconfig",
        metavar="FILE",
        parse=parse_path,
        help="Kubeconfig file. Default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account.",
    ),
    Option(
        name="context",
        metavar="NAME",
        parse=parse_text,
        help="Kubeconfig context. Default: the current context.",
    ),
    Option(
        name="helm",
        metavar="PATH",
        parse=parse_text,
        help="The helm executable for helm/RELEASE targets (read and rolled back through the helm CLI, "
        "with --kubeconfig and --context passed on).",
    ),
    Option(
        name="base_url",
        metavar="URL",
        parse=parse_url,
        help="Where the release answers HTTP, for the health checks and the `http` fixture.",
    ),
    Option(
        name="health_paths",
        flag_name="health-path",
        kind=Kind.REPEATABLE,
        metavar="PATH",
        parse=sequence_of(parse_health_path),
        show=_listed,
        per_check=True,
        help="A health endpoint, checked on its own; repeat for several.",
    ),
    Option(
        name="health_attempts",
        metavar="N",
        parse=parse_positive_count,
        per_check=True,
        help="How many times a health endpoint is probed at most.",
    ),
    Option(
        name="health_failures",
        metavar="N",
        parse=parse_positive_count,
        per_check=True,
        help="Consecutive failed probes that fail the health check (no more than the health attempts).",
    ),
    Option(
        name="health_interval",
        parse=parse_duration,
        per_check=True,
        help="Time between health probes.",
        **_DURATION,
    ),
    Option(
        name="http_timeout",
        parse=parse_positive_duration,
        help="Timeout of one HTTP request (connect, read, write, pool).",
        **_DURATION,
    ),
    Option(
        name="tls_verify",
        flag_name="insecure-skip-tls-verify",
        kind=Kind.SWITCH_OFF,
        parse=parse_bool,
        help="Do not verify the TLS certificates of the release and Prometheus (a warning is printed).",
    ),
    Option(
        name="ca_file",
        metavar="FILE",
        parse=parse_path,
        help="CA bundle for the release's HTTPS endpoints and Prometheus.",
    ),
    Option(
        name="prometheus_url",
        metavar="URL",
        parse=parse_url,
        help="Prometheus base URL. Credentials come only from ROLLCHECK_PROMETHEUS_TOKEN or "
        "ROLLCHECK_PROMETHEUS_USERNAME and ROLLCHECK_PROMETHEUS_PASSWORD, never from a URL.",
    ),
    Option(
        name="selector",
        metavar="MATCHERS",
        parse=parse_selector,
        per_check=True,
        help='PromQL label matchers of the release\'s series, such as app="shop". '
        "Default: the pods of the target's newest ReplicaSet.",
    ),
    Option(
        name="window",
        parse=parse_positive_duration,
        per_check=True,
        help="Metric window, starting when the rollout completed.",
        **_DURATION,
    ),
    Option(
        name="max_error_rate",
        metavar="FRACTION",
        parse=parse_fraction,
        per_check=True,
        help="Largest acceptable fraction of 5xx responses over the window (0.01 is 1 in 100).",
    ),
    Option(
        name="max_p99_latency",
        parse=parse_positive_duration,
        per_check=True,
        help="Largest acceptable 99th percentile latency over the window.",
        **_DURATION,
    ),
    Option(
        name="min_requests",
        metavar="N",
        parse=parse_count,
        per_check=True,
        help="With fewer requests in the window the metric verdict is inconclusive, never a pass.",
    ),
    Option(
        name="watch",
        parse=parse_duration,
        help="Analysis over time: after the first pass, repeat the metric checks every --interval for this long "
        "and decide with --failure-limit, --consecutive-failure-limit and --inconclusive-limit (0: no watch).",
        **_DURATION,
    ),
    Option(
        name="interval",
        parse=parse_interval,
        help="Time between the watch's rounds; each round measures over the last interval, so keep it at "
        "several Prometheus scrape intervals.",
        **_DURATION,
    ),
    Option(
        name="failure_limit",
        metavar="N",
        parse=parse_positive_count,
        help="During a watch: this many failed measurements of one metric check fail the release.",
    ),
    Option(
        name="consecutive_failure_limit",
        metavar="N",
        parse=parse_positive_count,
        help="During a watch: this many failed measurements of one metric check in a row fail the release.",
    ),
    Option(
        name="inconclusive_limit",
        metavar="N",
        parse=parse_positive_count,
        help="During a watch: this many measurements of one metric check that could not judge (too few "
        "requests, no data, Prometheus unreachable) make the analysis inconclusive.",
    ),
    Option(
        name="error_rate_query",
        metavar="PROMQL",
        parse=parse_query_template,
        per_check=True,
        help="PromQL template of the error rate; {selector} and {window} are filled in.",
    ),
    Option(
        name="requests_query",
        metavar="PROMQL",
        parse=parse_query_template,
        per_check=True,
        help="PromQL template of the request count over the window; {selector} and {window} are filled in.",
    ),
    Option(
        name="p99_query",
        metavar="PROMQL",
        parse=parse_query_template,
        per_check=True,
        help="PromQL template of the p99 latency; {selector} and {window} are filled in.",
    ),
    Option(
        name="baseline",
        metavar="{off,previous-pods,before-rollout}",
        parse=parse_baseline_mode,
        per_check=True,
        help="Compare the release's error ratio and p99 with a baseline (Mann-Whitney U): the previous "
        "ReplicaSet's pods while both run, or the workload before the rollout; off skips the baseline check.",
    ),
    Option(
        name="baseline_confidence",
        metavar="FRACTION",
        parse=parse_confidence,
        per_check=True,
        help="A difference from the baseline counts when the p-value is below 1 - this.",
    ),
    Option(
        name="baseline_tolerance",
        metavar="FRACTION",
        parse=parse_tolerance,
        per_check=True,
        help="A relative change of the mean up to this (0.1 is 10%) is no failure, however significant.",
    ),
    Option(
        name="baseline_direction",
        metavar="{increase,decrease,either}",
        parse=parse_direction,
        per_check=True,
        help="Which change from the baseline is bad.",
    ),
    Option(
        name="baseline_step",
        parse=parse_positive_duration,
        per_check=True,
        help="One sample per step: the metric over each step of a range query (several scrape intervals long).",
        **_DURATION,
    ),
    Option(
        name="baseline_min_samples",
        metavar="N",
        parse=parse_positive_count,
        per_check=True,
        help="With fewer samples on either side the comparison is inconclusive, never a pass.",
    ),
    Option(
        name="baseline_selector",
        metavar="MATCHERS",
        parse=parse_selector,
        per_check=True,
        help='PromQL label matchers of the baseline\'s series, such as version="v1". Default: the previous '
        "ReplicaSet's pods, or the workload's pods before the rollout.",
    ),
    Option(
        name="rollback",
        flag_name="no-rollback",
        kind=Kind.SWITCH_OFF,
        parse=parse_bool,
        help="Check and report only; never roll back.",
    ),
    Option(
        name="dry_run",
        kind=Kind.SWITCH_ON,
        parse=parse_bool,
        help="Record the rollback that would be done, without doing it "
        "(this wins over turning rollbacks off: the plan is still recorded).",
    ),
    Option(
        name="expect_images",
        flag_name="expect-image",
        kind=Kind.REPEATABLE,
        metavar="IMAGE",
        parse=sequence_of(parse_image),
        show=_listed,
        help="An image the release must run; repeat for several. "
        "Anything else is refused as not the release CI deployed.",
    ),
    Option(
        name="rollout_timeout",
        parse=parse_positive_duration,
        help="How long to wait for a rollout (the release's and the rollback's) to complete.",
        **_DURATION,
    ),
    Option(
        name="check_timeout",
        parse=parse_positive_duration,
        help="Time limit of each check (pytest-timeout's signal method, so the reports are still written).",
        **_DURATION,
    ),
    Option(
        name="confirm_reruns",
        metavar="N",
        parse=parse_count,
        help="Re-run a failed gating check this often before its failure counts: failed then passed is "
        "flaky (reported, no rollback); 0 never re-runs. The rollcheck_confirm marker overrides it per check.",
    ),
    Option(
        name="confirm_backoff",
        parse=parse_duration,
        help="Wait before the first re-run of a failed check; doubled before each further one.",
        **_DURATION,
    ),
    Option(
        name="report_dir",
        metavar="DIR",
        parse=parse_path,
        help="Where report.json, junit.xml, report.html and allure-results/ go.",
    ),
    Option(
        name="on_inconclusive",
        metavar="{fail,rollback,pass}",
        parse=parse_on_inconclusive,
        help="What an inconclusive verdict (nothing could be measured) does: fail without rolling back, "
        "roll back, or pass.",
    ),
    Option(
        name="require_rollback_ready",
        kind=Kind.SWITCH_ON,
        parse=parse_bool,
        help="Fail before any check runs (exit 4) if preflight finds that a rollback would not be possible: "
        "no previous revision, revisionHistoryLimit 0, a paused workload, or no right to patch it. "
        "Without it these are warnings.",
    ),
    Option(
        name="notify_on",
        metavar="{rollback,failure,always,never}",
        parse=parse_notify_on,
        help="Which runs send notifications: every rollback decision (rollback); those and every failed or "
        "inconclusive verdict (failure); every run (always); none (never).",
    ),
    Option(
        name="notify_slack_url",
        metavar="URL",
        parse=parse_secret_url,
        show=_hidden,
        help="Slack incoming-webhook URL. A secret: prefer ROLLCHECK_NOTIFY_SLACK_URL or "
        "--notify-slack-url-file to a flag, which shows in the process list.",
    ),
    Option(
        name="notify_slack_url_file",
        metavar="FILE",
        parse=parse_path,
        help="A file holding the Slack URL (a mounted secret, say), instead of --notify-slack-url.",
    ),
    Option(
        name="notify_wecom_url",
        metavar="URL",
        parse=parse_secret_url,
        show=_hidden,
        help="WeCom (企业微信) group robot webhook URL, with its key. A secret: prefer ROLLCHECK_NOTIFY_WECOM_URL "
        "or --notify-wecom-url-file to a flag, which shows in the process list.",
    ),
    Option(
        name="notify_wecom_url_file",
        metavar="FILE",
        parse=parse_path,
        help="A file holding the WeCom URL (a mounted secret, say), instead of --notify-wecom-url.",
    ),
    Option(
        name="notify_webhook_url",
        metavar="URL",
        parse=parse_secret_url,
        show=_hidden,
        help="URL that receives the report summary as JSON (POST). A secret, as it may carry a token: prefer "
        "ROLLCHECK_NOTIFY_WEBHOOK_URL or --notify-webhook-url-file to a flag, which shows in the process list.",
    ),
    Option(
        name="notify_webhook_url_file",
        metavar="FILE",
        parse=parse_path,
        help="A file holding the webhook URL (a mounted secret, say), instead of --notify-webhook-url.",
    ),
)

OPTIONS_BY_NAME: Mapping[str, Option] = {option.name: option for option in OPTIONS}
