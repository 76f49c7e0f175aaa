"""notify: tell people and the cluster what a run decided. Slack, WeCom (企业微信) and a generic JSON webhook
get a message when `--notify-on` says so; every rollback decision also becomes a Kubernetes Event on the
target. A failed notification is recorded in the report and never blocks or undoes the rollback."""

from __future__ import annotations

from ._message import summary
from ._notify import notify
from ._notify import notify_due

__all__ = ["notify", "notify_due", "summary"]
