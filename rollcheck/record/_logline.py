"""One JSON line per rollback event on stderr, for log pipelines that grep CI output."""

from __future__ import annotations

import datetime
import json
from typing import Any
from typing import TextIO

from ._model import RollbackAction
from ._model import RunRecord

__all__ = ["log_line", "write_log_line"]


def log_line(record: RunRecord) -> dict[str, Any]:
    rollback = record.rollback
    return {
        "event": f"rollcheck.rollback.{rollback.action.value}",
        "service": record.target,
        "namespace": record.namespace,
        "verdict": record.verdict.value,
        "from": rollback.from_version or rollback.from_revision,
        "to": rollback.to_version or rollback.to_revision,
        "reason": rollback.reason,
        "recovered": rollback.recovered,
        "error": rollback.error,
        "time": (record.timings.rollback_issued_at or datetime.datetime.now(datetime.UTC))
        .astimezone(datetime.UTC)
        .isoformat()
        .replace("+00:00", "Z"),
        "pipeline": record.context.pipeline_id,
        "commit": record.context.commit,
    }


def write_log_line(record: RunRecord, stream: TextIO) -> bool:
    """Write the line when there was a rollback event (anything but 'not needed'). True if written."""
    if record.rollback.action is RollbackAction.NOT_NEEDED:
        return False
    # The leading newline keeps the line whole when stderr interleaves with a progress line on stdout.
    stream.write("\n" + json.dumps(log_line(record), ensure_ascii=False, separators=(",", ":")) + "\n")
    stream.flush()
    return True
