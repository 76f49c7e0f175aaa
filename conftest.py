"""Lets a checkout of this repository be used directly as a suite.

Drop test files into checks/ (or any folder) and run, from the checkout:

    pytest checks/ -p rollcheck -o addopts="" --rollcheck-target deployment/shop --rollcheck-namespace prod \
        --rollcheck-base-url …

(`-o addopts=""` drops the `-p no:rollcheck` that rollcheck's own test session uses.) `rollcheck run` does the
same for an installed rollcheck. The folders below are not suites, so pytest never collects them.
"""

from __future__ import annotations

collect_ignore = ["scripts", "bench", "examples/ci", "deploy", "node_modules", "build", ".localenv"]
