"""The report directory is on a full disk: a real, tiny tmpfs, filled up before the run.

The run happens inside a user and mount namespace of its own (`unshare`), where mounting a tmpfs needs no
privileges and nothing outside the namespace sees it. rollcheck's report writer gets ENOSPC from the kernel:
no half-written report.json is left behind, the record goes to a temporary directory instead, and the run's
exit code is still the verdict's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rollcheck import ExitCode

# Mounts a 64 KiB tmpfs on $1, fills it to the last block, runs the rest of the command line, then lists what the
# full directory holds (into $2, outside the tmpfs: the mount vanishes with the namespace) and exits as the run did.
ON_A_FULL_DISK = """
set -u
full=$1; listing=$2; shift 2
mount -t tmpfs -o size=64k tmpfs "$full" || exit 97
dd if=/dev/zero of="$full/filler" bs=4k 2>/dev/null
"$@"
code=$?
ls -A "$full" > "$listing"
exit $code
"""


def test_a_full_report_disk_leaves_no_half_report_and_the_record_goes_elsewhere(pytester: pytest.Pytester) -> None:
    unshare = shutil.which("unshare")
    assert unshare is not None, "util-linux's unshare is needed to mount a private tmpfs"
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_release_checks="def test_release_is_fine():\n    pass\n")
    full = pytester.path / "full"
    full.mkdir()
    listing = pytester.path / "listing.txt"
    report_dir = full / "report"
    command = [
        unshare,
        "--user",
        "--map-root-user",
        "--mount",
        "sh",
        "-c",
        ON_A_FULL_DISK,
        "on-a-full-disk",
        str(full),
        str(listing),
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "rollcheck",
        "-p",
        "no:cacheprovider",
        "--rollcheck",
        f"--rollcheck-report-dir={report_dir}",
    ]

    result = subprocess.run(command, cwd=pytester.path, capture_output=True, text=True, timeout=120, check=False)

    assert result.returncode != 97, f"the tmpfs could not be mounted: {result.stderr[-2000:]}"
    assert result.returncode == ExitCode.PASSED, result.stdout[-2000:] + result.stderr[-2000:]
    # mkstemp could still create the temporary file (tmpfs has inodes left), writing it hit ENOSPC, and it was
    # removed: the full directory holds the filler and the empty report directory, nothing else.
    assert listing.read_text().split() == ["filler", "report"]
    [said] = [line for line in result.stderr.splitlines() if line.startswith("rollcheck: could not write")]
    assert f"could not write {report_dir} ([Errno 28] No space left on device); report at " in said
    fallback = Path(said.rsplit("report at ", 1)[1])
    try:
        record = json.loads(fallback.read_text())
        assert (record["verdict"], record["exit_code"]) == ("passed", ExitCode.PASSED)
        assert any("No space left on device" in error for error in record["errors"]), record["errors"]
    finally:
        shutil.rmtree(fallback.parent, ignore_errors=True)
