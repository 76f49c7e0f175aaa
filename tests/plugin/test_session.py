"""The plugin end to end through pytester: classification, verdict, exit codes, and a report that is always
written. These runs have no target (or an unreachable one), so no cluster is touched."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from rollcheck import ExitCode

PASSING = """
def test_ok():
    assert True
"""


def test_passed_run_exits_0_and_reports(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(PASSING)
    run = rollcheck_tester.run("--rollcheck")
    assert run.result.ret == ExitCode.PASSED
    assert run.report["verdict"] == "passed"
    assert run.report["rollback"]["action"] == "not_needed"
    assert run.check("test_ok")["outcome"] == "passed"
    run.result.stdout.fnmatch_lines(["*= rollcheck =*", "verdict: PASSED*", "exit code: 0 (passed)"])


def test_failed_check_without_target_fails_with_rollback_disabled(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(
        """
        import pytest

        @pytest.mark.rollcheck_check(category="error_rate")
        def test_error_rate(evidence):
            evidence.record("sum(errors)", 0.3, threshold=0.01, window="60s")
            assert 0.3 <= 0.01, "error rate 0.3 > max 0.01"
        """
    )
    run = rollcheck_tester.run("--rollcheck")
    assert run.result.ret == ExitCode.FAILED
    assert run.report["verdict"] == "failed"
    assert run.report["rollback"]["action"] == "disabled"
    check = run.check("test_error_rate")
    assert (check["outcome"], check["category"], check["gating"]) == ("failed", "error_rate", True)
    assert check["message"] == "error rate 0.3 > max 0.01", "the check's own words, without introspection"
    assert check["measurements"][0]["value"] == 0.3
    assert check["measurements"][0]["threshold"] == 0.01


def test_measurement_error_is_inconclusive_and_exits_7(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(
        """
        import rollcheck

        def test_ok():
            pass

        def test_no_traffic():
            raise rollcheck.InsufficientData("3 requests in the window, fewer than the minimum 20")
        """
    )
    run = rollcheck_tester.run("--rollcheck")
    assert run.result.ret == ExitCode.INCONCLUSIVE
    assert run.report["verdict"] == "inconclusive"
    assert run.report["rollback"]["action"] == "not_needed"
    assert run.check("test_no_traffic")["outcome"] == "inconclusive"
    assert "fewer than the minimum 20" in run.check("test_no_traffic")["message"]
    run.result.stdout.fnmatch_lines(["*INCONCLUSIVE*"])


def test_on_inconclusive_pass_exits_0(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(
        "import rollcheck\ndef test_x():\n    raise rollcheck.MetricsUnavailable('down')\n"
    )
    run = rollcheck_tester.run("--rollcheck", "--rollcheck-on-inconclusive=pass")
    assert run.result.ret == ExitCode.PASSED
    assert run.report["verdict"] == "inconclusive"


def test_advisory_failure_is_reported_but_passes(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(
        """
        import pytest

        def test_gate():
            pass

        @pytest.mark.rollcheck_advisory(severity="info", category="latency")
        def test_nice_to_have():
            assert False, "p50 is a bit high"
        """
    )
    run = rollcheck_tester.run("--rollcheck")
    assert run.result.ret == ExitCode.PASSED
    assert run.report["verdict"] == "passed"
    advisory = run.check("test_nice_to_have")
    assert (advisory["outcome"], advisory["gating"], advisory["severity"]) == ("failed", False, "info")


def test_broken_fixture_is_an_error_not_a_failed_release(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def broken():
            raise RuntimeError("fixture bug")

        def test_uses_broken(broken):
            pass
        """
    )
    run = rollcheck_tester.run("--rollcheck")
    assert run.result.ret == ExitCode.INCONCLUSIVE
    assert run.check("test_uses_broken")["outcome"] == "error"


def test_collection_error_never_rolls_back_and_keeps_pytest_status(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile("import nonexistent_module_xyz\n")
    run = rollcheck_tester.run("--rollcheck")
    assert run.result.ret == pytest.ExitCode.INTERRUPTED
    assert run.report["rollback"]["action"] == "not_needed"
    assert run.report["rollback"]["reason"] == "pytest ended with INTERRUPTED; never roll back"


def test_no_checks_exits_5(rollcheck_tester) -> None:
    run = rollcheck_tester.run("--rollcheck")
    assert run.result.ret == ExitCode.NO_CHECKS
    assert run.report["exit_code"] == ExitCode.NO_CHECKS


def test_bad_option_is_a_usage_error_naming_option_and_value(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(PASSING)
    run = rollcheck_tester.run("--rollcheck", "--rollcheck-max-error-rate=lots")
    assert run.result.ret == ExitCode.USAGE_ERROR
    run.result.stderr.fnmatch_lines(["*--rollcheck-max-error-rate*lots*"])
    assert "Traceback" not in run.result.stderr.str()


def test_not_enabled_means_no_report_and_clear_fixture_error(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile("def test_x(rollcheck_settings):\n    pass\n")
    result = rollcheck_tester.pytester.runpytest_subprocess("-p", "rollcheck")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*rollcheck is not enabled*"])
    assert not rollcheck_tester.report_dir.exists()


def test_hanging_check_times_out_as_inconclusive_and_the_report_is_written(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile("import time\ndef test_hangs():\n    time.sleep(60)\n")
    run = rollcheck_tester.run("--rollcheck", "--rollcheck-check-timeout=1")
    assert run.result.ret == ExitCode.INCONCLUSIVE
    assert run.check("test_hangs")["outcome"] == "inconclusive"
    assert "Timeout" in run.check("test_hangs")["message"]


def test_unwritable_report_dir_falls_back_and_says_where(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(PASSING)
    (rollcheck_tester.pytester.path / "taken").write_text("a file where the report directory should be")
    result = rollcheck_tester.pytester.runpytest_subprocess(
        "-p", "rollcheck", "--rollcheck", f"--rollcheck-report-dir={rollcheck_tester.pytester.path / 'taken' / 'out'}"
    )
    assert result.ret == ExitCode.PASSED
    [line] = [line for line in result.stderr.lines if "report at" in line]
    fallback = Path(line.rsplit("report at ", 1)[1])
    data = json.loads(fallback.read_text())
    assert data["verdict"] == "passed"
    assert any("could not write" in error for error in data["errors"])


def test_report_written_nowhere_still_logs_runs_the_sinks_and_notifies(
    rollcheck_tester, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[bytes] = []

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("ROLLCHECK_NOTIFY_WEBHOOK_URL", f"http://127.0.0.1:{server.server_address[1]}/hook")
    taken = rollcheck_tester.pytester.path / "taken"
    taken.write_text("a file where directories should be")
    # Paths under a regular file cannot be created, even by root: neither the report directory nor the
    # temporary directory of the fallback. tempfile.tempdir is the stdlib's own setting for that directory
    # (TMPDIR alone would not do: tempfile skips an unusable TMPDIR and falls back to /tmp).
    rollcheck_tester.pytester.makeconftest(
        f"""
        import pathlib, tempfile

        tempfile.tempdir = {str(taken / "tmp")!r}

        class Sink:
            def pytest_rollcheck_report(self, record):
                pathlib.Path("sink-saw.txt").write_text(record.rollback.action.value)

        def pytest_configure(config):
            config.pluginmanager.register(Sink(), "sink")
        """
    )
    rollcheck_tester.pytester.makepyfile("def test_bad():\n    assert False\n")
    try:
        result = rollcheck_tester.pytester.runpytest_subprocess(
            "-p", "rollcheck", "-p", "no:cacheprovider", "--rollcheck", f"--rollcheck-report-dir={taken / 'out'}"
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.ret == ExitCode.FAILED, result.stderr.str()[-3000:]
    stderr = result.stderr.lines
    [log_line] = [line for line in stderr if line.startswith('{"event"')]
    assert json.loads(log_line)["event"] == "rollcheck.rollback.disabled"
    assert any("nor a temporary directory" in line for line in stderr)
    # The whole record, on stderr, since no file could hold it: once as judged, once with the notifications.
    reports = [json.loads(line) for line in stderr if line.startswith('{"schema_version"')]
    assert [report["verdict"] for report in reports] == ["failed", "failed"]
    assert any("could not write" in error for error in reports[0]["errors"])
    assert reports[-1]["notifications"][0]["delivered"] is True
    assert (rollcheck_tester.pytester.path / "sink-saw.txt").read_text() == "disabled"
    [message] = received
    assert json.loads(message)["verdict"] == "failed"
    result.stdout.fnmatch_lines(["*exit code: 1 (failed)*"])
    result.stdout.no_fnmatch_line("*report: *")


UNREACHABLE_KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: canary-token-not-to-leak}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


def test_unreachable_cluster_is_inconclusive_and_never_rolls_back(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(PASSING)
    kubeconfig = rollcheck_tester.pytester.path / "kubeconfig"
    kubeconfig.write_text(UNREACHABLE_KUBECONFIG)
    run = rollcheck_tester.run(
        "--rollcheck-target=deployment/shop", f"--rollcheck-kubeconfig={kubeconfig}", "--rollcheck-rollout-timeout=2"
    )
    assert run.result.ret == ExitCode.INCONCLUSIVE
    assert run.report["verdict"] == "inconclusive"
    assert "could not be read" in run.report["reason"]
    assert run.report["rollback"]["action"] == "not_needed"
    everything = run.result.stdout.str() + run.result.stderr.str() + json.dumps(run.report)
    assert "canary-token-not-to-leak" not in everything


def test_unreachable_cluster_never_rolls_back_even_with_on_inconclusive_rollback(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile("def test_bad():\n    assert False\n")
    kubeconfig = rollcheck_tester.pytester.path / "kubeconfig"
    kubeconfig.write_text(UNREACHABLE_KUBECONFIG)
    run = rollcheck_tester.run(
        "--rollcheck-target=deployment/shop",
        f"--rollcheck-kubeconfig={kubeconfig}",
        "--rollcheck-rollout-timeout=1",
        "--rollcheck-on-inconclusive=rollback",
    )
    assert run.result.ret == ExitCode.INCONCLUSIVE
    assert run.report["rollback"]["action"] == "not_needed"
    assert "could not be read" in run.report["reason"]


def test_broken_report_sink_is_recorded_and_others_still_run(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makeconftest(
        """
        import pathlib

        class Broken:
            def pytest_rollcheck_report(self, record, config):
                raise RuntimeError("sink down")

        class Works:
            def pytest_rollcheck_report(self, record, config):
                pathlib.Path("sink-saw.txt").write_text(record.verdict.value)

        def pytest_configure(config):
            config.pluginmanager.register(Broken(), "broken-sink")
            config.pluginmanager.register(Works(), "working-sink")
        """
    )
    rollcheck_tester.pytester.makepyfile(PASSING)
    run = rollcheck_tester.run("--rollcheck")
    assert run.result.ret == ExitCode.PASSED
    assert (rollcheck_tester.pytester.path / "sink-saw.txt").read_text() == "passed"
    assert any("broken-sink" in error and "sink down" in error for error in run.report["errors"])


def test_under_xdist_only_the_controller_reports(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(
        "import pytest\n@pytest.mark.parametrize('n', range(6))\ndef test_n(n):\n    assert n != 3\n"
    )
    run = rollcheck_tester.run("--rollcheck", "-n", "2")
    assert run.result.ret == ExitCode.FAILED
    assert len(run.report["checks"]) == 6
    assert [c["outcome"] for c in run.report["checks"] if c["id"].endswith("[3]")] == ["failed"]
    assert len(list(rollcheck_tester.report_dir.glob("*.json"))) == 1


def test_sigterm_during_the_run_still_writes_the_report(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(
        """
        import os, signal, time

        def test_first():
            pass

        def test_cancelled_by_ci():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
        """
    )
    run = rollcheck_tester.run("--rollcheck")
    assert run.result.ret == ExitCode.INTERRUPTED
    assert run.report["rollback"]["action"] == "not_needed"
    assert run.report["reason"] == "pytest ended with INTERRUPTED"
    assert run.check("test_first")["outcome"] == "passed"


def test_broken_decide_hook_falls_back_to_the_policy_and_is_recorded(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makeconftest(
        "def pytest_rollcheck_decide(judgement, settings):\n    raise RuntimeError('policy service down')\n"
    )
    rollcheck_tester.pytester.makepyfile("def test_bad():\n    assert False\n")
    run = rollcheck_tester.run("--rollcheck")
    assert run.result.ret == ExitCode.FAILED
    assert run.report["rollback"]["action"] == "disabled"
    assert any("policy service down" in error for error in run.report["errors"])


def test_bad_marker_value_is_a_usage_error_before_anything_runs(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(
        "import pytest\n@pytest.mark.rollcheck_settings(max_error_rat=0.05)\ndef test_x():\n    pass\n"
    )
    run = rollcheck_tester.run("--rollcheck")
    assert run.result.ret == ExitCode.USAGE_ERROR
    run.result.stderr.fnmatch_lines(["*max_error_rat*max_error_rate*"])


def test_positional_marker_arguments_are_a_usage_error(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(
        "import pytest\n@pytest.mark.rollcheck_settings(0.3)\ndef test_x():\n    pass\n"
    )
    run = rollcheck_tester.run("--rollcheck")
    assert run.result.ret == ExitCode.USAGE_ERROR
    run.result.stderr.fnmatch_lines(["*rollcheck_settings takes keyword arguments only*"])


def test_bad_prometheus_credentials_are_a_usage_error(rollcheck_tester, monkeypatch: pytest.MonkeyPatch) -> None:
    rollcheck_tester.pytester.makepyfile(PASSING)
    monkeypatch.setenv("ROLLCHECK_PROMETHEUS_USERNAME", "ci")  # a user without a password
    run = rollcheck_tester.run("--rollcheck")
    assert run.result.ret == ExitCode.USAGE_ERROR
    run.result.stderr.fnmatch_lines(["*ROLLCHECK_PROMETHEUS*"])


def test_a_check_file_that_fails_to_load_never_lets_the_run_pass_or_roll_back(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(
        test_broken="import nonexistent_module_xyz\n", test_fine="def test_ok():\n    assert False\n"
    )
    run = rollcheck_tester.run("--rollcheck", "--continue-on-collection-errors")
    assert run.result.ret == ExitCode.INTERRUPTED
    assert run.report["rollback"]["action"] == "not_needed"
    assert "failed to load" in run.report["reason"]


def test_under_xdist_workers_judge_the_controllers_reading(rollcheck_tester) -> None:
    # Any API access from a worker would be recorded in the checks' messages.
    rollcheck_tester.pytester.makeconftest(
        """
        import rollcheck.kube

        def pytest_configure(config):
            if hasattr(config, "workerinput"):
                def refuse(**kwargs):
                    raise RuntimeError("a worker called the Kubernetes API")
                rollcheck.kube.connect = refuse
        """
    )
    rollcheck_tester.pytester.makepyfile(
        "import pytest\n@pytest.mark.parametrize('n', range(4))\ndef test_n(release, n):\n    pass\n"
    )
    kubeconfig = rollcheck_tester.pytester.path / "kubeconfig"
    kubeconfig.write_text(UNREACHABLE_KUBECONFIG)
    run = rollcheck_tester.run(
        "-n", "2", "--rollcheck-target=deployment/shop", f"--rollcheck-kubeconfig={kubeconfig}",
        "--rollcheck-rollout-timeout=1",
    )  # fmt: skip
    assert run.result.ret == ExitCode.INCONCLUSIVE
    messages = {check["message"] for check in run.report["checks"]}
    assert len(run.report["checks"]) == 4
    assert all("could not be read" in message for message in messages), messages
    assert not [message for message in messages if "a worker called" in message]


def test_a_context_missing_from_the_kubeconfig_is_a_usage_error_with_a_report(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(PASSING)
    kubeconfig = rollcheck_tester.pytester.path / "kubeconfig"
    kubeconfig.write_text(UNREACHABLE_KUBECONFIG)
    run = rollcheck_tester.run(
        "--rollcheck-target=deployment/shop", f"--rollcheck-kubeconfig={kubeconfig}", "--rollcheck-context=prod"
    )
    assert run.result.ret == ExitCode.USAGE_ERROR
    assert "there is no context 'prod'" in run.report["reason"]
    assert run.report["rollback"]["action"] == "not_needed"


def test_a_worker_that_dies_mid_check_is_an_error_not_a_pass(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile("import os\ndef test_ok():\n    pass\ndef test_dies():\n    os._exit(1)\n")
    run = rollcheck_tester.run("--rollcheck", "-n", "2")
    assert run.result.ret == ExitCode.INCONCLUSIVE
    assert run.check("test_dies")["outcome"] == "error"
    assert "died" in run.check("test_dies")["message"]
    assert run.report["verdict"] == "inconclusive"


def test_a_bad_marker_under_xdist_is_the_checks_error_with_its_message(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(
        "import pytest\n@pytest.mark.rollcheck_settings(max_error_rat=0.05)\ndef test_x():\n    pass\n"
    )
    run = rollcheck_tester.run("--rollcheck", "-n", "2")
    assert run.result.ret == ExitCode.INCONCLUSIVE
    assert run.check("test_x")["outcome"] == "error"
    assert "max_error_rate" in run.check("test_x")["message"]


def test_sigterm_while_finishing_does_not_cost_the_report(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makeconftest(
        """
        import os, signal, time

        class SlowSink:
            def pytest_rollcheck_report(self, record):
                os.kill(os.getpid(), signal.SIGTERM)  # CI cancels the job while a sink is sending
                time.sleep(0.2)

        def pytest_configure(config):
            config.pluginmanager.register(SlowSink(), "slow-sink")
        """
    )
    rollcheck_tester.pytester.makepyfile("def test_bad():\n    assert False\n")
    run = rollcheck_tester.run("--rollcheck")
    assert run.result.ret == ExitCode.FAILED
    assert run.report["verdict"] == "failed"


def test_sigterm_while_the_release_is_read_still_writes_the_report(rollcheck_tester) -> None:
    # A listener that accepts and never answers: the release read hangs, as with a stuck API server.
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    kubeconfig = rollcheck_tester.pytester.path / "kubeconfig"
    kubeconfig.write_text(UNREACHABLE_KUBECONFIG.replace("https://127.0.0.1:9", f"https://127.0.0.1:{port}"))
    rollcheck_tester.pytester.makeconftest(
        """
        import os, signal, threading

        def pytest_configure(config):  # before rollcheck's sessionstart, which blocks on the read
            threading.Timer(2.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
        """
    )
    rollcheck_tester.pytester.makepyfile(PASSING)
    try:
        run = rollcheck_tester.run(
            "--rollcheck-target=deployment/shop",
            f"--rollcheck-kubeconfig={kubeconfig}",
            "--rollcheck-rollout-timeout=60",
        )
    finally:
        silent.close()
    assert run.result.ret == ExitCode.INTERRUPTED
    assert run.report["rollback"]["action"] == "not_needed"
    assert "interrupted while reading the release" in run.report["reason"]


def test_a_measurement_json_cannot_encode_still_gets_a_report(rollcheck_tester) -> None:
    rollcheck_tester.pytester.makepyfile(
        "import decimal\ndef test_x(evidence):\n    evidence.record('q', decimal.Decimal('0.5'))\n"
    )
    run = rollcheck_tester.run("--rollcheck")
    assert run.result.ret == ExitCode.PASSED
    assert run.check("test_x")["measurements"][0]["value"] in (0.5, "0.5")
