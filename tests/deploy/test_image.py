"""The Dockerfile builds the package from exactly what it copies (and .dockerignore lets through), and runs
as the user the manifests require. No Docker engine here, so the build context is rebuilt by hand."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

from localenv_support import REPO_ROOT

DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")


def _instructions(name: str) -> list[str]:
    return [line.split(None, 1)[1] for line in DOCKERFILE.splitlines() if line.startswith(f"{name} ")]


def test_the_package_builds_from_what_the_dockerfile_copies(tmp_path: Path) -> None:
    allowed = {
        line[1:].rstrip("/")
        for line in (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.startswith("!")
    }
    context = tmp_path / "src"
    context.mkdir()
    for copy in _instructions("COPY"):
        *sources, _ = copy.split()
        for source in sources:
            assert source in allowed, f"COPY {source}: excluded from the build context by .dockerignore"
            if (REPO_ROOT / source).is_dir():
                shutil.copytree(REPO_ROOT / source, context / source, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(REPO_ROOT / source, context / source)
    out = tmp_path / "wheel"
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out)]
    result = subprocess.run([*command, str(context)], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    [built] = out.glob("rollcheck-*.whl")
    names = zipfile.ZipFile(built).namelist()
    packages = {str(p.parent.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "rollcheck").rglob("__init__.py")}
    shipped = {str(Path(name).parent) for name in names if name.endswith("/__init__.py")}
    assert packages | {"rollcheck/plugins", "rollcheck/checks"} <= shipped
    [entry_points] = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
    assert "rollcheck = rollcheck.cli:main" in zipfile.ZipFile(built).read(entry_points).decode()


def test_the_image_runs_as_the_non_root_user_the_manifests_require() -> None:
    assert _instructions("FROM") == ["python:3.11-slim"]
    assert _instructions("ENTRYPOINT") == ['["rollcheck"]']
    [user] = _instructions("USER")
    uid = int(user.split(":")[0])
    assert uid != 0
    pods = []
    for path in sorted((REPO_ROOT / "deploy").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc and doc["kind"] in {"Deployment", "Job"}:
                pods.append(doc["spec"]["template"]["spec"])
    assert len(pods) == 2
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == uid
        assert pod["serviceAccountName"] == "rollcheck"
        for container in pod["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["resources"]["requests"]
