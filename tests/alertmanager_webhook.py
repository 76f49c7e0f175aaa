"""The body Alertmanager POSTs to a webhook receiver, for the tests and the bench that play Alertmanager."""

from __future__ import annotations

from typing import Any


def payload(*alerts: dict[str, Any]) -> dict[str, Any]:
    """A webhook delivery of `alerts` as one group, as Alertmanager (v4 payload) sends it."""
    return {
        "receiver": "rollcheck",
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "alerts": list(alerts),
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:19093",
        "version": "4",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
    }
