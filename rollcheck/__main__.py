"""`python -m rollcheck`: the same as the `rollcheck` command."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
