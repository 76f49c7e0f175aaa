"""rollcheck's fault matrix: every fault, and the tests that show it gets a clear message, the right verdict or
exit code, a report, and nothing lost or half-done. The tests below keep this list honest: every reference
names a test that exists, every test in tests/faults is listed, and no case is left without a test.

Kubernetes API: unreachable
    tests/plugin/test_session.py::test_unreachable_cluster_is_inconclusive_and_never_rolls_back
    tests/plugin/test_session.py::test_unreachable_cluster_never_rolls_back_even_with_on_inconclusive_rollback
    tests/kube/test_kube_retry.py::test_connection_errors_are_retried_then_reported_as_cluster_unavailable
Kubernetes API: killed during a rollback and restarted
    tests/faults/test_apiserver_outage.py::test_an_outage_while_the_restored_rollout_is_awaited_ends_applied_and_recovered
    tests/faults/test_apiserver_outage.py::test_an_outage_before_the_rollback_is_a_clear_cluster_unavailable_failure
Kubernetes API: answer to the rollback PATCH lost
    tests/faults/test_kube_proxy_faults.py::test_a_patch_whose_every_answer_is_lost_is_read_back_and_counts_as_applied
    tests/faults/test_kube_proxy_faults.py::test_a_patch_unanswered_and_unreadable_afterwards_is_a_rollback_of_unknown_outcome
    tests/rollback/test_rollback_safety.py::test_a_retried_patch_whose_first_attempt_landed_counts_as_applied
    tests/rollback/test_rollback_safety.py::test_a_lost_answer_on_the_last_attempt_still_counts_as_applied
Kubernetes API: every read of the restored rollout failing until the rollout timeout
    tests/faults/test_kube_proxy_faults.py::test_a_wait_that_never_reads_the_restored_rollout_says_why_when_it_times_out
Kubernetes API: 409 on the patch
    tests/faults/test_kube_proxy_faults.py::test_429_503_and_409_on_the_rollback_are_retried_and_the_rollback_recovers
    tests/kube/test_kube_errors.py::test_each_status_maps_to_its_error
Kubernetes API: 422 on the patch
    tests/faults/test_patch_refused.py::test_a_422_from_admission_fails_the_rollback_at_once_and_changes_nothing
    tests/rollback/test_rollback_safety.py::test_writes_racing_every_patch_end_as_conflict
    tests/kube/test_kube_errors.py::test_422_for_an_invalid_object_is_not_a_conflict
Kubernetes API: 429 and 5xx with Retry-After
    tests/faults/test_kube_proxy_faults.py::test_429_503_and_409_on_the_rollback_are_retried_and_the_rollback_recovers
    tests/kube/test_kube_retry.py::test_retry_after_seconds_are_honoured_and_capped
    tests/kube/test_kube_retry.py::test_it_gives_up_after_the_last_attempt_with_the_last_error
Kubernetes API: 403 from RBAC
    tests/kube/test_kube_live.py::test_a_restricted_identity_gets_forbidden_with_the_verb
    tests/act/test_carry_out.py::test_forbidden_patch_is_a_failed_rollback_naming_the_verb
    tests/rollback/test_rollback_safety.py::test_without_patch_rights_the_apply_is_forbidden
Kubernetes API: the target deleted during the run
    tests/faults/test_target_deleted.py::test_a_target_deleted_during_the_checks_is_a_failed_rollback_with_a_report
    tests/kube/test_kube_live.py::test_waiting_for_a_missing_deployment_fails
Kubernetes API: watch connections dropped
    tests/faults/test_kube_proxy_faults.py::test_dropped_watches_while_waiting_for_the_restored_rollout_are_watched_again
    tests/kube/test_kube_live.py::test_wait_for_rollout_spans_several_watches
Prometheus: unreachable
    tests/measure/test_prometheus_faults.py::test_connection_refused
    tests/e2e/test_run.py::test_prometheus_unreachable_is_inconclusive_and_nothing_is_touched
Prometheus: slow past the timeout
    tests/measure/test_prometheus_faults.py::test_a_stall_past_the_timeout_is_bounded
Prometheus: NaN, an empty vector, several series where one was expected
    tests/measure/test_prometheus_faults.py::test_nan_empty_and_several_series
Prometheus: malformed JSON
    tests/measure/test_prometheus_faults.py::test_garbage_answers_are_metrics_unavailable
Prometheus: restarted during a watch (the scenario prometheus-restart)
    tests/scenarios/test_scenarios.py::test_scenario
Health endpoints: connection refused
    tests/measure/test_health.py::test_connection_refused
Health endpoints: TLS errors
    tests/measure/test_health.py::test_tls_to_a_plain_http_server_is_a_tls_error
    tests/measure/test_tls.py::test_http_client_verifies_certificates
Health endpoints: redirect loops
    tests/measure/test_health.py::test_a_redirect_loop_is_cut_short
Health endpoints: huge bodies
    tests/measure/test_health.py::test_a_huge_body_is_capped
Health endpoints: a server that stalls
    tests/measure/test_health.py::test_a_stalled_server_times_out
Reports: the report directory not writable
    tests/plugin/test_session.py::test_unwritable_report_dir_falls_back_and_says_where
    tests/plugin/test_session.py::test_report_written_nowhere_still_logs_runs_the_sinks_and_notifies
    tests/record/test_record.py::test_report_falls_back_to_a_temporary_directory
Reports: disk full
    tests/faults/test_disk_full.py::test_a_full_report_disk_leaves_no_half_report_and_the_record_goes_elsewhere
Reports: the run killed by SIGTERM during a rollback
    tests/plugin/test_interrupted_rollback.py::test_sigterm_while_waiting_for_the_restored_rollout_records_an_issued_rollback_of_unknown_outcome
    tests/act/test_carry_out.py::test_an_interrupted_wait_records_an_issued_rollback_of_unknown_outcome
    tests/plugin/test_session.py::test_sigterm_while_finishing_does_not_cost_the_report
Configuration: every option with a wrong value, from every source
    tests/settings/test_errors.py::test_every_option_has_a_bad_value
    tests/settings/test_errors.py::test_command_line_errors_name_the_flag
    tests/settings/test_errors.py::test_environment_errors_name_the_variable
    tests/settings/test_errors.py::test_config_file_errors_name_the_key_and_the_file
    tests/settings/test_errors.py::test_marker_errors_name_the_keyword_and_the_test
Configuration: every option with a wrong TOML type
    tests/faults/test_config_file_types.py::test_a_value_of_the_wrong_toml_type_is_a_config_error_naming_key_and_file
    tests/faults/test_config_file_types.py::test_cases_cover_every_option
    tests/settings/test_errors.py::test_wrong_toml_types_are_errors
Configuration: unknown keys in [tool.rollcheck] suggest the closest
    tests/faults/test_config_file_types.py::test_an_unknown_key_stops_rollcheck_run_with_one_line_suggesting_the_closest
    tests/settings/test_errors.py::test_an_unknown_file_key_suggests_the_closest
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from localenv_support import REPO_ROOT

#: The cases the matrix must cover, as the project states them.
REQUIRED_CASES = [
    "Kubernetes API: unreachable",
    "Kubernetes API: killed during a rollback and restarted",
    "Kubernetes API: 409 on the patch",
    "Kubernetes API: 422 on the patch",
    "Kubernetes API: 429 and 5xx with Retry-After",
    "Kubernetes API: 403 from RBAC",
    "Kubernetes API: the target deleted during the run",
    "Kubernetes API: watch connections dropped",
    "Prometheus: unreachable",
    "Prometheus: slow past the timeout",
    "Prometheus: NaN, an empty vector, several series where one was expected",
    "Prometheus: malformed JSON",
    "Prometheus: restarted during a watch (the scenario prometheus-restart)",
    "Health endpoints: connection refused",
    "Health endpoints: TLS errors",
    "Health endpoints: redirect loops",
    "Health endpoints: huge bodies",
    "Health endpoints: a server that stalls",
    "Reports: the report directory not writable",
    "Reports: disk full",
    "Reports: the run killed by SIGTERM during a rollback",
    "Configuration: every option with a wrong value, from every source",
    "Configuration: every option with a wrong TOML type",
    "Configuration: unknown keys in [tool.rollcheck] suggest the closest",
]

_REFERENCE = re.compile(r"^(tests/\S+\.py)::(\w+)$")


def _matrix() -> dict[str, list[tuple[str, str]]]:
    """Each case (an unindented line) with its references (the indented lines under it)."""
    cases: dict[str, list[tuple[str, str]]] = {}
    lines = (__doc__ or "").split("\n\n", 1)[1].splitlines()
    for line in lines:
        if not line.strip():
            continue
        if not line.startswith(" "):
            cases[line] = []
            continue
        found = _REFERENCE.match(line.strip())
        assert found, f"not a tests/…py::test_name reference: {line!r}"
        cases[list(cases)[-1]].append((found[1], found[2]))
    return cases


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_every_case_has_a_test() -> None:
    matrix = _matrix()
    assert [case for case in REQUIRED_CASES if not matrix.get(case)] == []


def test_every_reference_names_a_test_that_exists() -> None:
    missing = [
        f"{path}::{name}"
        for references in _matrix().values()
        for path, name in references
        if not (REPO_ROOT / path).is_file() or name not in _test_functions(REPO_ROOT / path)
    ]
    assert missing == []


def test_every_fault_test_is_in_the_matrix() -> None:
    listed = {(path, name) for references in _matrix().values() for path, name in references}
    here = Path(__file__).parent
    unlisted = [
        f"{path.name}::{name}"
        for path in sorted(here.glob("test_*.py"))
        if path != Path(__file__)
        for name in sorted(_test_functions(path))
        if (str(path.relative_to(REPO_ROOT)), name) not in listed
    ]
    assert unlisted == []
