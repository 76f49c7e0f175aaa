"""Each package's public surface is exactly its __all__: nothing private leaks, nothing public is forgotten."""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = [
    "rollcheck",
    "rollcheck.act",
    "rollcheck.decide",
    "rollcheck.helm",
    "rollcheck.kube",
    "rollcheck.measure",
    "rollcheck.plugins",
    "rollcheck.record",
    "rollcheck.rollback",
    "rollcheck.serve",
    "rollcheck.settings",
    "rollcheck.target",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_lists_exactly_the_public_names(name: str) -> None:
    package = importlib.import_module(name)
    # isidentifier(): pytest's assertion rewriting may add "@py_builtins" and "@pytest_ar" to a module.
    public = {
        attribute
        for attribute, value in vars(package).items()
        if attribute.isidentifier() and not attribute.startswith("_") and not isinstance(value, types.ModuleType)
    } - {"annotations"}
    public |= {"__version__"} & set(vars(package))
    if name == "rollcheck.plugins":
        # The pytest hook functions are the plugin's interface to pytest, not names to import.
        public = {attribute for attribute in public if not attribute.startswith("pytest_")}
    assert sorted(package.__all__) == sorted(public)


def test_version_is_exported() -> None:
    import rollcheck

    assert rollcheck.__version__.count(".") == 2
