"""Helpers for the notification tests: a real receiver on 127.0.0.1 that records what it is sent and answers
as scripted, and a run record with every fact a message must carry (the fixtures are in conftest.py)."""

from __future__ import annotations

import datetime
import json
import threading
from collections import deque
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from typing import Any

from rollcheck.record import CheckCategory
from rollcheck.record import CheckOutcome
from rollcheck.record import CheckResult
from rollcheck.record import CiContext
from rollcheck.record import Measurement
from rollcheck.record import ReleaseSummary
from rollcheck.record import RollbackAction
from rollcheck.record import RollbackRecord
from rollcheck.record import RunRecord
from rollcheck.record import Severity
from rollcheck.record import Timings
from rollcheck.record import Verdict

AT = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.UTC)
STALL = "stall"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A receiver's URL and what it got. `answers` are (status, headers, body) or STALL, used in order; when
    they run out it answers `final`."""

    port: int
    secret_path: str = "/services/T0/B0/receivertoken"
    received: list[Received] = field(default_factory=list)
    answers: deque[tuple[int, dict[str, str], bytes] | str] = field(default_factory=deque)
    final: tuple[int, dict[str, str], bytes] = (200, {}, b"ok")
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.secret_path}"


def handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.received.append(Received(self.path, dict(self.headers), body))
            answer = receiver.answers.popleft() if receiver.answers else receiver.final
            if answer == STALL:
                receiver.release.wait(30)
                return
            assert not isinstance(answer, str)
            status, headers, payload = answer
            self.send_response(status)
            for name, value in {"Content-Length": str(len(payload)), **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the test output stays readable; what was received is in `received`

    return Handler


def failed_run(
    action: RollbackAction = RollbackAction.ROLLED_BACK,
    *,
    target: str = "deployment/shop",
    namespace: str = "prod",
    started_at: datetime.datetime = AT,
) -> RunRecord:
    """A failed release: the error rate check measured 0.41 against 0.01, and rollcheck acted as `action`."""
    return RunRecord(
        verdict=Verdict.FAILED,
        target=target,
        namespace=namespace,
        release=ReleaseSummary(revision=4, images=("shop:v2",), version="v2"),
        checks=(
            CheckResult(
                id="checks/test_error_rate.py::test_error_rate",
                category=CheckCategory.ERROR_RATE,
                outcome=CheckOutcome.FAILED,
                gating=True,
                severity=Severity.CRITICAL,
                duration_s=15.2,
                message="error rate 0.41 > max 0.01 over 15s",
                measurements=(Measurement(query="sum(x)", value=0.41, threshold=0.01, window="15s", at=AT),),
            ),
            CheckResult(
                id="checks/test_health.py::test_health",
                category=CheckCategory.HEALTH,
                outcome=CheckOutcome.PASSED,
                gating=True,
                severity=Severity.CRITICAL,
                duration_s=1.0,
                message="",
            ),
        ),
        rollback=RollbackRecord(
            action=action,
            reason="1 gating check(s) failed: checks/test_error_rate.py::test_error_rate",
            from_revision=4,
            to_revision=3,
            from_version="v2",
            to_version="v1",
            started_at=AT,
            issued_at=AT,
            finished_at=AT,
            recovered=True if action is RollbackAction.ROLLED_BACK else None,
            error="the Deployment is paused" if action is RollbackAction.FAILED else None,
        ),
        timings=Timings(started_at=started_at, verdict_at=AT, rollback_issued_at=AT),
        context=CiContext(
            ci="gitlab-ci", pipeline_id="pipeline-77", commit="abc123f", job_url="https://gitlab.example/j/991"
        ),
        exit_code=6 if action is RollbackAction.FAILED else 1,
        reason="1 gating check(s) failed: checks/test_error_rate.py::test_error_rate",
    )
