"""report.json: the run record as JSON, written atomically so a reader never sees half a report."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from ._model import RunRecord

__all__ = ["REPORT_FILENAME", "write_report"]

REPORT_FILENAME = "report.json"


def write_report(record: RunRecord, directory: Path) -> Path:
    """Write `<directory>/report.json`. Raises OSError when the directory cannot be written; callers fall back
    to another place so the record is never lost."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / REPORT_FILENAME
    handle, temporary = tempfile.mkstemp(prefix=".report-", suffix=".json", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            # default=str: a custom check may record a Decimal or a numpy number; the report must still be written.
            json.dump(record.to_dict(), stream, indent=2, ensure_ascii=False, default=str)
            stream.write("\n")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
