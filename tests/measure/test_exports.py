"""rollcheck.measure's public surface is exactly its __all__, so nothing private leaks and nothing is forgotten."""

from __future__ import annotations

import rollcheck.measure


def test_all_lists_exactly_the_public_names() -> None:
    # isidentifier(): pytest's assertion rewriting may add "@py_builtins" and "@pytest_ar" to a module.
    public = {n for n in vars(rollcheck.measure) if n.isidentifier() and not n.startswith("_")} - {"annotations"}
    assert sorted(rollcheck.measure.__all__) == sorted(public)
    assert rollcheck.measure.__all__ == sorted(rollcheck.measure.__all__, key=lambda n: (not n.isupper(), n))
