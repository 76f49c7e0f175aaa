"""Prometheus and Alertmanager configuration for the local environment."""

from __future__ import annotations

import secrets
from pathlib import Path

import yaml

from .layout import Layout

SCRAPE_INTERVAL = "1s"


def write_prometheus_config(layout: Layout) -> Path:
    layout.prometheus_rules.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "rule_files": [str(layout.prometheus_rules / "*.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{layout.ports.alertmanager}"]}]}]},
        "scrape_configs": [
            {
                # Demo pods, discovered from the node agent's file; labels come from the pods.
                "job_name": "pods",
                "file_sd_configs": [
                    {"files": [str(layout.agent / "prometheus-targets.json")], "refresh_interval": "1s"}
                ],
            },
            {
                "job_name": "prometheus",
                "static_configs": [{"targets": [f"127.0.0.1:{layout.ports.prometheus}"]}],
            },
        ],
    }
    path = layout.prometheus / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def write_alertmanager_config(layout: Layout) -> Path:
    """Route every alert to one webhook receiver on loopback, authenticated with a bearer token file."""
    layout.alertmanager.mkdir(parents=True, exist_ok=True)
    token_file = layout.alertmanager / "receiver-token"
    if not token_file.exists():
        token_file.write_text(secrets.token_urlsafe(24))
        token_file.chmod(0o600)
    config = {
        "route": {
            "receiver": "localenv-receiver",
            "group_by": ["alertname", "namespace"],
            "group_wait": "1s",
            "group_interval": "5s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "localenv-receiver",
                "webhook_configs": [
                    {
                        "url": f"http://127.0.0.1:{layout.ports.alert_receiver}/alertmanager",
                        "send_resolved": True,
                        "http_config": {"authorization": {"credentials_file": str(token_file)}},
                    }
                ],
            }
        ],
    }
    path = layout.alertmanager / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
