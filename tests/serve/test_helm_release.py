"""An Alertmanager alert naming `helm_release` and `namespace` rolls a real Helm release back: serve reads the
release through helm (as `rollcheck run -t helm/NAME` does), and the Helm engine runs `helm rollback`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from alertmanager_webhook import payload
from helm_support import HelmRelease
from helm_support import helm_environment
from serve_support import alert
from serve_support import post

from localenv_support import LocalEnv
from rollcheck.serve import ReceiverServer

StartReceiver = Callable[..., ReceiverServer]


@pytest.fixture(autouse=True)
def helm_homes(localenv: LocalEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    # The receiver runs helm with the test process's environment: give it the homes env.sh gives.
    for name, value in helm_environment(localenv).items():
        if name.startswith("HELM_"):
            monkeypatch.setenv(name, value)


def test_an_alert_naming_a_helm_release_rolls_it_back(
    cluster_receiver: StartReceiver, helm_release: HelmRelease, helm_binary: Path
) -> None:
    helm_release.deploy("v1")
    helm_release.deploy("v2")
    server = cluster_receiver(settings={"helm": str(helm_binary)})
    labels = {"namespace": helm_release.namespace, "helm_release": helm_release.name, "version": "v2"}

    answer = post(server.url, payload(alert(labels)))

    assert answer.status_code == 202, answer.text
    [accepted] = answer.json()["alerts"]
    assert (accepted["outcome"], accepted["target"]) == ("started", f"helm/{helm_release.name}")
    assert server.desk.wait_idle(120)
    report = json.loads((server.config.settings.report_dir / accepted["event"] / "report.json").read_text())
    rollback = report["rollback"]
    assert report["target"] == f"helm/{helm_release.name}"
    assert (report["release"]["revision"], report["release"]["version"]) == (2, "v2")
    assert rollback["error"] is None, rollback
    assert (rollback["action"], rollback["from_revision"], rollback["to_revision"]) == ("rolled_back", 2, 1)
    assert (rollback["from_version"], rollback["to_version"]) == ("v2", "v1")
    assert helm_release.image() == "rollcheck-demo:v1"
    latest = helm_release.history()[-1]
    assert (latest["revision"], latest["status"], latest["description"]) == (3, "deployed", "Rollback to 1")
