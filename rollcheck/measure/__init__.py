"""measure: what checks use to look at a release: PromQL building, Prometheus, HTTP and health probes,
the metric window, and the evidence kept for the report. Nothing here imports pytest."""

from __future__ import annotations

from ._baseline import compare
from ._baseline import describe_comparison
from ._baseline import summarize
from ._baseline_plan import plan_baseline
from ._evidence import Evidence
from ._evidence import describe
from ._evidence import format_value
from ._evidence import require_requests
from ._health import HealthResult
from ._health import Probe
from ._health import probe_health
from ._http import BODY_LIMIT
from ._http import MAX_REDIRECTS
from ._http import CappedResponse
from ._http import get_capped
from ._http import http_client
from ._http import redact_url
from ._prom import Prom
from ._prom import Reading
from ._prom import read_scalar
from ._prom import scalar
from ._prometheus import MetricsSource
from ._prometheus import Prometheus
from ._prometheus import Sample
from ._promql import default_selector
from ._promql import duration
from ._promql import escape_label_value
from ._promql import label_matchers
from ._promql import regex_literal
from ._promql import render
from ._range import BaselineComparer
from ._range import BaselinePlan
from ._range import Samples
from ._range import range_samples
from ._window import MetricWindow
from ._window import wait_for_window

__all__ = [
    "BODY_LIMIT",
    "MAX_REDIRECTS",
    "BaselineComparer",
    "BaselinePlan",
    "CappedResponse",
    "Evidence",
    "HealthResult",
    "MetricWindow",
    "MetricsSource",
    "Probe",
    "Prom",
    "Prometheus",
    "Reading",
    "Sample",
    "Samples",
    "compare",
    "default_selector",
    "describe",
    "describe_comparison",
    "duration",
    "escape_label_value",
    "format_value",
    "get_capped",
    "http_client",
    "label_matchers",
    "plan_baseline",
    "probe_health",
    "range_samples",
    "read_scalar",
    "redact_url",
    "regex_literal",
    "render",
    "require_requests",
    "scalar",
    "summarize",
    "wait_for_window",
]
