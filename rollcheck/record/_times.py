"""How the record writes a point in time."""

from __future__ import annotations

import datetime


def utc_text(value: datetime.datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as every time in report.json is written; None stays None."""
    return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z") if value else None
