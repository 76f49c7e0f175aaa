"""The command line's only way to write: plain lines, coloured only on a terminal and never with NO_COLOR."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

__all__ = ["Output", "Style"]


class Style(enum.StrEnum):
    """ANSI SGR codes."""

    BOLD = "1"
    DIM = "2"
    RED = "31"
    GREEN = "32"
    YELLOW = "33"


@dataclass(frozen=True)
class Output:
    stream: TextIO
    """Where the lines go: stdout for results, stderr for warnings and errors."""
    colour: bool
    """Emit ANSI colours. Only on a terminal: in a CI log or a pipe they are noise."""

    @classmethod
    def to(cls, stream: TextIO, environ: Mapping[str, str]) -> Output:
        # https://no-color.org: a NO_COLOR that is present and not empty turns colour off.
        return cls(stream, colour=stream.isatty() and not environ.get("NO_COLOR"))

    def paint(self, text: str, *styles: Style) -> str:
        if not self.colour or not styles:
            return text
        return f"\033[{';'.join(styles)}m{text}\033[0m"

    def line(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def warning(self, text: str) -> None:
        self.line(self.paint(f"rollcheck: warning: {text}", Style.YELLOW))

    def error(self, text: str) -> None:
        self.line(self.paint(f"rollcheck: error: {text}", Style.RED))
