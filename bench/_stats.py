"""Repeated measurements and how they are shown: median with min and max, and ratios against a peer measured
in the same run (the machines are shared and noisy, so a single figure or a figure from another run means little).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Series:
    """Repeated measurements of one quantity, in its unit."""

    samples: tuple[float, ...]
    """Every measurement, in the order taken."""
    unit: str = "ms"
    """The unit the samples are in (ms, MB, /s)."""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def show(self) -> str:
        low, high = min(self.samples), max(self.samples)
        return f"{_number(self.median)} {self.unit} [{_number(low)}-{_number(high)}]"


@dataclass(frozen=True)
class Percentile(Series):
    """One percentile over every sample of a single long run (thousands of requests), not a median over repeats.
    `median` is what a Row's goal is held to, so here it answers the percentile; `show` says which it is."""

    percent: float = 50.0
    """Which percentile, 0-100."""

    @property
    def median(self) -> float:
        ranked = sorted(self.samples)
        # Nearest rank: the smallest sample with at least `percent`% of the samples at or below it.
        rank = max(1, math.ceil(self.percent / 100 * len(ranked)))
        return ranked[rank - 1]

    def show(self) -> str:
        low, high = min(self.samples), max(self.samples)
        figure = f"p{self.percent:g} {_number(self.median)} {self.unit}"
        return f"{figure} of {len(self.samples)} [{_number(low)}-{_number(high)}]"


@dataclass(frozen=True)
class Row:
    """One line of the table: a rollcheck figure, optionally its peer's, and the goal it is held to."""

    name: str
    """What was measured."""
    subject: Series
    """rollcheck's figure."""
    peer_name: str = ""
    """What rollcheck is compared with (kubectl, bare pytest); empty for an absolute figure."""
    peer: Series | None = None
    """The peer's figure, measured interleaved with the subject's in the same run."""
    goal: str = ""
    """The goal as written in the README ("≤ 0.2x", "< 100 ms")."""
    met: bool | None = None
    """Whether the median meets the goal; None when the row has no goal."""

    @property
    def ratio(self) -> float | None:
        if self.peer is None or self.peer.median == 0:
            return None
        return self.subject.median / self.peer.median


def ratio_row(name: str, subject: Series, peer_name: str, peer: Series, *, at_most: float | None) -> Row:
    """A comparison: the ratio of the medians, held to `at_most` when given."""
    row = Row(name, subject, peer_name, peer)
    if at_most is None or row.ratio is None:
        return row
    return Row(name, subject, peer_name, peer, goal=f"≤ {at_most:g}x", met=row.ratio <= at_most)


def absolute_row(name: str, subject: Series, *, below: float | None = None, at_least: float | None = None) -> Row:
    """An absolute figure, held to `below` or `at_least` (in the series' unit) when given."""
    if at_least is not None:
        return Row(name, subject, goal=f"≥ {_number(at_least)} {subject.unit}", met=subject.median >= at_least)
    if below is None:
        return Row(name, subject)
    return Row(name, subject, goal=f"< {_number(below)} {subject.unit}", met=subject.median < below)


def exact_row(name: str, subject: Series, *, equal: float) -> Row:
    """A count that must be exactly `equal` in every sample, not just in the median."""
    met = all(sample == equal for sample in subject.samples)
    return Row(name, subject, goal=f"= {_number(equal)} each", met=met)


def render(rows: Sequence[Row]) -> str:
    """The table as GitHub Markdown, so it can be pasted into the README as printed."""
    lines = [
        "| measurement | rollcheck, median [min-max] | peer | peer, median [min-max] | ratio | goal | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = f"{row.ratio:.3f}x" if row.ratio is not None else ""  # 1.054x must not read as 1.05x
        met = {True: "yes", False: "**no**", None: ""}[row.met]
        peer = row.peer.show() if row.peer is not None else ""
        lines.append(f"| {row.name} | {row.subject.show()} | {row.peer_name} | {peer} | {ratio} | {row.goal} | {met} |")
    return "\n".join(lines)


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"
