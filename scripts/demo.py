"""`make demo`: deploy a good release, then a bad one, and let rollcheck catch it, roll it back and prove it.

On the local environment (scripts/localenv): the demo Deployment `shop` in namespace `demo` goes to v1,
then to a v2 that answers 40% of its API requests with 500. `rollcheck run` judges v2, rolls it back to v1,
confirms health recovered, and leaves its reports in demo-report/. Exit 0 only if all of that happened.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from kubernetes import client
from kubernetes import config as kube_config

from rollcheck_localenv.layout import Layout

REPO = Path(__file__).resolve().parents[1]
NAMESPACE = "demo"
NAME = "shop"
PORT = Layout.default().ports.demo_workload
REPORT_DIR = REPO / "demo-report"


def say(message: str) -> None:
    print(f"demo: {message}", flush=True)


def deployment(version: str, env: dict[str, str]) -> dict[str, object]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": NAME,
            "labels": {"app": NAME},
            "annotations": {
                "localenv.rollcheck.dev/port": str(PORT),
                "kubernetes.io/change-cause": f"deploy {version}",
            },
        },
        "spec": {
            "replicas": 3,
            "progressDeadlineSeconds": 60,
            "selector": {"matchLabels": {"app": NAME}},
            "template": {
                "metadata": {"labels": {"app": NAME}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": f"rollcheck-demo:{version}",
                            "env": [{"name": k, "value": v} for k, v in env.items()],
                        }
                    ]
                },
            },
        },
    }


def wait_rollout(apps: client.AppsV1Api, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        d = apps.read_namespaced_deployment(NAME, NAMESPACE)
        s = d.status
        if (
            (s.observed_generation or 0) >= d.metadata.generation
            and (s.updated_replicas or 0) == d.spec.replicas
            and (s.replicas or 0) == (s.updated_replicas or 0)
            and (s.available_replicas or 0) == d.spec.replicas
        ):
            return
        time.sleep(0.5)
    raise SystemExit(f"demo: the rollout of {NAME} did not complete in {timeout:.0f}s")


def fresh_namespace(core: client.CoreV1Api) -> None:
    try:
        core.delete_namespace(NAMESPACE)
        while True:
            core.read_namespace(NAMESPACE)
            time.sleep(0.5)
    except client.ApiException as error:
        if error.status != 404:
            raise
    core.create_namespace({"metadata": {"name": NAMESPACE}})


def render_allure() -> Path:
    results = REPORT_DIR / "allure-results"
    allure = REPO / "node_modules" / ".bin" / "allure"
    if not allure.exists():
        raise SystemExit("demo: the Allure commandline is not installed; `make deps` installs it")
    output = REPORT_DIR / "allure-report"
    subprocess.run(
        [str(allure), "generate", str(results), "-o", str(output), "--clean"], check=True, capture_output=True
    )
    return output


def main() -> int:
    api = kube_config.new_client_from_config(config_file=os.environ["KUBECONFIG"])
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    fresh_namespace(core)
    say(f"deploying {NAME} v1 (good) into namespace {NAMESPACE}")
    apps.create_namespaced_deployment(NAMESPACE, deployment("v1", {}))
    wait_rollout(apps)
    say("deploying v2 (bad: 40% of API requests answer 500)")
    apps.replace_namespaced_deployment(NAME, NAMESPACE, deployment("v2", {"DEMO_ERROR_RATE": "0.4"}))
    wait_rollout(apps)

    shutil.rmtree(REPORT_DIR, ignore_errors=True)
    command = [
        str(REPO / ".venv" / "bin" / "rollcheck"), "run",
        "--target", f"deployment/{NAME}", "--namespace", NAMESPACE,
        "--base-url", f"http://127.0.0.1:{PORT}",
        "--prometheus-url", os.environ["PROMETHEUS_URL"],
        "--window", "15s", "--expect-image", "rollcheck-demo:v2",
        "--report-dir", str(REPORT_DIR),
    ]  # fmt: skip
    say("running: " + " ".join(command[1:]))
    run = subprocess.run(command, check=False)

    report = json.loads((REPORT_DIR / "report.json").read_text())
    image = apps.read_namespaced_deployment(NAME, NAMESPACE).spec.template.spec.containers[0].image
    rollback = report["rollback"]
    problems = []
    if run.returncode != 1:
        problems.append(f"rollcheck exited {run.returncode}, expected 1 (failed and rolled back)")
    if report["verdict"] != "failed":
        problems.append(f"verdict {report['verdict']}, expected failed")
    if rollback["action"] != "rolled_back" or rollback["recovered"] is not True:
        problems.append(f"rollback {rollback['action']} recovered={rollback['recovered']}: {rollback['error']}")
    if image != "rollcheck-demo:v1":
        problems.append(f"the Deployment runs {image}, expected rollcheck-demo:v1")
    allure = render_allure()
    say(f"verdict {report['verdict']}: {report['reason']}")
    moved = f"{rollback['from_version']} → {rollback['to_version']}"
    say(f"rollback {rollback['action']}: {moved}, health recovered: {rollback['recovered']}")
    say(
        f"reports in {REPORT_DIR}: report.json, junit.xml, report.html, allure-results/"
        + (", allure-report/" if allure else "")
    )
    for problem in problems:
        say(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
