"""The helm option: a helm/RELEASE target needs a helm binary, checked when the settings are resolved."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollcheck import ConfigError
from rollcheck.settings import find_config_file
from rollcheck.settings import resolve
from rollcheck.target import TargetKind
from rollcheck.target import TargetRef


def test_a_helm_target_is_accepted_with_helm_on_the_path(helm_binary: Path) -> None:
    settings = resolve(cli={"target": "helm/shop"}, environ={"PATH": str(helm_binary.parent)}, config_file=None)
    assert (settings.target, settings.helm) == (TargetRef(TargetKind.HELM, "shop"), "helm")


def test_a_helm_target_without_helm_on_the_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve(cli={"target": "helm/shop"}, environ={"PATH": str(tmp_path)}, config_file=None)
    assert str(caught.value).startswith("--helm='helm' (from default): was not found on PATH;")


def test_a_helm_binary_in_a_config_file_is_named_there(tmp_path: Path) -> None:
    config = tmp_path / "rollcheck.toml"
    config.write_text('target = "helm/shop"\nhelm = "/opt/helm-3/helm"\n')
    with pytest.raises(ConfigError) as caught:
        resolve(cli={}, environ={}, config_file=find_config_file(tmp_path))
    assert str(caught.value).startswith(f"helm='/opt/helm-3/helm' (from {config}): is not an executable file;")


def test_other_targets_do_not_need_helm(tmp_path: Path) -> None:
    settings = resolve(cli={"target": "deployment/shop"}, environ={"PATH": str(tmp_path)}, config_file=None)
    assert settings.target == TargetRef(TargetKind.DEPLOYMENT, "shop")
