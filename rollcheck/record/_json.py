"""report.json: the run record as JSON, written atomically so a reader never sees half a report."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import TextIO

from ._model import RunRecord

__all__ = ["REPORT_FILENAME", "write_report", "write_report_safely"]

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


def write_report_safely(record: RunRecord, directory: Path, *, say: TextIO) -> Path | None:
    """Write report.json; if `directory` cannot be written, write it to a new temporary directory, record why
    in the report and say where on `say`, because the record must never be lost. If that fails too (no
    writable temporary directory), the whole report goes to `say` as one JSON line and None is returned:
    never an OSError, so the caller's log line, report sinks and notifications still run."""
    try:
        return write_report(record, directory)
    except OSError as error:
        failed = dataclasses.replace(record, errors=(*record.errors, f"could not write {directory}: {error}"))
        try:
            path = write_report(failed, Path(tempfile.mkdtemp(prefix="rollcheck-report-")))
        except OSError as fallback_error:
            say.write(
                f"rollcheck: could not write {directory} ({error}), nor a temporary directory ({fallback_error}); "
                "the report follows on one line\n"
            )
            say.write(json.dumps(failed.to_dict(), ensure_ascii=False, default=str, separators=(",", ":")) + "\n")
            say.flush()
            return None
        say.write(f"rollcheck: could not write {directory} ({error}); report at {path}\n")
        say.flush()
        return path
