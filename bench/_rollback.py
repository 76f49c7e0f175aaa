"""Rollback against `kubectl rollout undo`: the in-session rollback, the whole process after a red suite, the
decision latency inside a run, and a Deployment with a long history."""

from __future__ import annotations

import datetime
import functools
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

from _cluster import VENV_BIN
from _cluster import Cluster
from _cluster import Timed
from _cluster import clean_env
from _cluster import run_timed
from _cluster import wait_until
from _stats import Row
from _stats import Series
from _stats import absolute_row
from _stats import ratio_row

from rollcheck import ExitCode
from rollcheck.act import SessionConnection
from rollcheck.act import carry_out
from rollcheck.decide import decide
from rollcheck.kube import read_release
from rollcheck.record import CiContext
from rollcheck.record import ReleaseSummary
from rollcheck.record import RollbackAction
from rollcheck.record import RollbackRecord
from rollcheck.record import RunRecord
from rollcheck.record import Timings
from rollcheck.record import Verdict
from rollcheck.record._json import write_report_safely
from rollcheck.settings import Settings
from rollcheck.target import Release
from rollcheck.target import TargetRef

FAILING_SUITE = """
def test_the_release_is_bad():
    assert False, "bench: the new release fails its checks"
"""


def in_session_rollback(cluster: Cluster, repeats: int) -> list[Row]:
    """From the decision to the PATCH accepted, as `rollcheck run` does it after a failed verdict: carry_out on
    the session's connection, open since the release was read (plan: reads and guard; apply: the guarded PATCH),
    against a twin Deployment undone by `kubectl rollout undo` in the same cluster."""
    with cluster.namespace("bench-undo") as namespace:
        rollcheck_ms, kubectl_ms = _undo_pairs(cluster, namespace, repeats, deploy_replicas=1)
    return [
        ratio_row(
            "rollback: decision → PATCH accepted",
            Series(rollcheck_ms),
            "kubectl rollout undo",
            Series(kubectl_ms),
            at_most=0.2,
        )
    ]


def long_history_rollback(cluster: Cluster, repeats: int, *, old_revisions: int = 110) -> list[Row]:
    """The same, for Deployments with `old_revisions` old ReplicaSets each (no pods: replicas 0), two of them in
    one namespace, so the ReplicaSet list is long and half of it belongs to the other Deployment."""
    with cluster.namespace("bench-history") as namespace:
        for name in ("subject", "twin"):
            cluster.deploy(namespace, name, "v0", replicas=0, history=old_revisions + repeats + 10)
        for revision in range(1, old_revisions + 1):
            for name in ("subject", "twin"):
                cluster.set_version(namespace, name, f"h{revision}")
            for name in ("subject", "twin"):
                wait_until(functools.partial(cluster.settled, namespace, name), what=f"revision {revision} of {name}")
        replicasets = len(cluster.apps.list_namespaced_replica_set(namespace).items)
        rollcheck_ms, kubectl_ms = _undo_pairs(cluster, namespace, repeats, deploy_replicas=None)
    return [
        ratio_row(
            f"rollback with {replicasets} ReplicaSets in the namespace",
            Series(rollcheck_ms),
            "kubectl rollout undo",
            Series(kubectl_ms),
            at_most=0.2,
        )
    ]


def _undo_pairs(
    cluster: Cluster, namespace: str, repeats: int, *, deploy_replicas: int | None
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Roll `subject` and `twin` forward and back `repeats` times, rollcheck undoing one and kubectl the other.
    With `deploy_replicas` the two Deployments are created first; without, they exist already."""
    if deploy_replicas is not None:
        for name in ("subject", "twin"):
            cluster.deploy(namespace, name, "v1", replicas=deploy_replicas)
    target = TargetRef.parse("deployment/subject")
    settings = Settings(
        target=target,
        namespace=namespace,
        kubeconfig=cluster.kubeconfig,
        rollout_timeout=60,
        report_dir=Path(tempfile.mkdtemp(prefix="rollcheck-bench-undo-")),
    )
    ours: list[float] = []
    theirs: list[float] = []
    # One untimed round first: in a real run the client is already loaded when the verdict comes.
    for round_number in range(repeats + 1):
        version = f"r{round_number}"
        for name in ("subject", "twin"):
            cluster.set_version(namespace, name, version)
        for name in ("subject", "twin"):
            wait_until(functools.partial(cluster.settled, namespace, name), what=f"{name} at {version}")
        before = {name: cluster.image(namespace, name) for name in ("subject", "twin")}
        # As a session does: open the connection to read the release at the start (not timed), keep it open.
        connection = SessionConnection(settings)
        try:
            verified = read_release(connection.open(), target, namespace)
            # Alternate who goes first, so neither always meets a cluster still busy with the other's rollback.
            if round_number % 2 == 0:
                rollcheck_ms = _rollcheck_undo(settings, verified, connection)
                kubectl_ms = _kubectl_undo(cluster, namespace)
            else:
                kubectl_ms = _kubectl_undo(cluster, namespace)
                rollcheck_ms = _rollcheck_undo(settings, verified, connection)
        finally:
            connection.close()
        for name in ("subject", "twin"):
            after = cluster.image(namespace, name)
            if after == before[name]:
                raise RuntimeError(f"{name} still runs {after} after its rollback")
        if round_number > 0:
            ours.append(rollcheck_ms)
            theirs.append(kubectl_ms)
    return tuple(ours), tuple(theirs)


class _StopAtAcceptance:
    """carry_out enters this right after the PATCH was accepted, to wait for the restored rollout: the clock
    stops there, and the wait ends as a SIGTERM would end it (the wait is not what this row measures)."""

    def __init__(self) -> None:
        self.accepted_at: float | None = None

    def __call__(self) -> _StopAtAcceptance:
        return self

    def __enter__(self) -> None:
        self.accepted_at = time.perf_counter()
        raise KeyboardInterrupt("bench: timed up to the accepted PATCH")

    def __exit__(self, *exc_info: object) -> None:
        return None


def _rollcheck_undo(settings: Settings, verified: Release, connection: SessionConnection) -> float:
    """What `rollcheck run` does after a failed verdict until the PATCH is accepted: carry_out itself, given the
    session's open connection and a preliminary report.json written just before the PATCH, as the built-in
    rollback hook calls it."""
    decision = decide(Verdict.FAILED, "bench", settings)
    stop = _StopAtAcceptance()
    act_log = logging.getLogger("rollcheck.act")
    act_log.disabled = True  # it warns that the wait was interrupted: here that is how the clock stops
    try:
        started = time.perf_counter()
        record = carry_out(
            decision,
            verified,
            settings,
            recovery_check=_never_reached,
            before_apply=functools.partial(_write_pending_report, settings),
            interruptible=stop,
            kube=connection.kube,
        )
    finally:
        act_log.disabled = False
    if stop.accepted_at is None or record.action is not RollbackAction.ROLLED_BACK:
        raise RuntimeError(f"rollcheck did not roll back: {record.action.value}: {record.error or record.reason}")
    return (stop.accepted_at - started) * 1000


def _write_pending_report(settings: Settings, pending: RollbackRecord) -> None:
    """The report the plugin writes right before the PATCH, in case the job is killed while rolling back."""
    record = RunRecord(
        verdict=Verdict.FAILED,
        target=str(settings.target),
        namespace=settings.namespace,
        release=ReleaseSummary(),
        checks=(),
        rollback=pending,
        timings=Timings(),
        context=CiContext(),
        exit_code=int(ExitCode.ROLLBACK_FAILED),
        reason="bench",
    )
    write_report_safely(record, settings.report_dir, say=sys.stderr)


def _never_reached(settings: Settings) -> tuple[bool, str]:
    raise AssertionError("the bench ends carry_out's wait before the recovery check")


def _kubectl_undo(cluster: Cluster, namespace: str) -> float:
    command = [str(cluster.kubectl), f"--kubeconfig={cluster.kubeconfig}", "-n", namespace, "rollout", "undo"]
    timed = run_timed([*command, "deployment/twin"], cwd=Path.cwd(), env=clean_env())
    if timed.returncode != 0:
        raise RuntimeError(f"kubectl rollout undo failed: {timed.output}")
    return timed.seconds * 1000


def whole_process_rollback(cluster: Cluster, repeats: int, workdir: Path) -> list[Row]:
    """After a red suite, until the restored rollout is complete: `rollcheck run` (its checks, the rollback, the
    wait and the recovery check) against the script a team would write (`pytest || kubectl rollout undo &&
    kubectl rollout status`). The reports also give the decision latency and the time to restore."""
    suite = workdir / "failing"
    suite.mkdir(parents=True, exist_ok=True)
    (suite / "test_release.py").write_text(FAILING_SUITE)
    (suite / "pytest.ini").write_text("[pytest]\n")
    kubeconfig = f"--kubeconfig={cluster.kubeconfig}"
    ours: list[float] = []
    theirs: list[float] = []
    decision_ms: list[float] = []
    restore_ms: list[float] = []
    with cluster.namespace("bench-process") as namespace:
        for name in ("subject", "twin"):
            cluster.deploy(namespace, name, "v1")
        for round_number in range(repeats):
            for name in ("subject", "twin"):
                cluster.set_version(namespace, name, f"bad{round_number}")
            for name in ("subject", "twin"):
                wait_until(functools.partial(cluster.rolled_out, namespace, name), what=f"{name} rolled out")
            report_dir = workdir / f"report-{round_number}"
            rollcheck_command = [
                str(VENV_BIN / "rollcheck"),
                "run",
                "-t",
                "deployment/subject",
                "-n",
                namespace,
                kubeconfig,
                "--no-builtin-checks",
                "--rollout-timeout=60s",
                f"--report-dir={report_dir}",
                "test_release.py",
            ]
            script = (
                f"{VENV_BIN / 'pytest'} -q -p no:rollcheck test_release.py || "
                f"{{ {cluster.kubectl} {kubeconfig} -n {namespace} rollout undo deployment/twin && "
                f"{cluster.kubectl} {kubeconfig} -n {namespace} rollout status deployment/twin --timeout=60s; }}"
            )
            peer_command = ["bash", "-c", script]
            if round_number % 2 == 0:
                rollcheck_ms = _expect(run_timed(rollcheck_command, cwd=suite, env=clean_env()), 1)
                script_ms = _expect(run_timed(peer_command, cwd=suite, env=clean_env()), 0)
            else:
                script_ms = _expect(run_timed(peer_command, cwd=suite, env=clean_env()), 0)
                rollcheck_ms = _expect(run_timed(rollcheck_command, cwd=suite, env=clean_env()), 1)
            ours.append(rollcheck_ms)
            theirs.append(script_ms)
            timings = json.loads((report_dir / "report.json").read_text())["timings"]
            decision_ms.append(_between(timings["verdict_at"], timings["rollback_issued_at"]))
            restore_ms.append(_between(timings["rollback_issued_at"], timings["rollback_completed_at"]))
    return [
        ratio_row(
            "red suite → restored rollout complete",
            Series(tuple(ours)),
            "pytest + kubectl undo + status",
            Series(tuple(theirs)),
            at_most=None,
        ),
        absolute_row("decision: failing verdict → rollback request sent", Series(tuple(decision_ms)), below=100),
        absolute_row("rollback request → restored rollout complete", Series(tuple(restore_ms))),
    ]


def _expect(timed: Timed, code: int) -> float:
    if timed.returncode != code:
        raise RuntimeError(f"expected exit {code}, got {timed.returncode}:\n{timed.output[-3000:]}")
    return timed.seconds * 1000


def _between(start: str, end: str) -> float:
    parse = datetime.datetime.fromisoformat
    return (parse(end) - parse(start)).total_seconds() * 1000
