"""The regression check's arithmetic: a run's figure against the median of its node's earlier
runs, and the verdict as a record (`Regression`) that events, batch lines, the console and the
reports carry and show. Which runs are earlier runs of the same kind is
`engine.analysis.regression`'s; this module holds the data and the arithmetic only.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from engine import figures, units

LOADGEN_METRIC = "LoadGen metric"
WALL_THROUGHPUT = "wall throughput"


@dataclass(frozen=True)
class Measure:
    """The figure a run is judged by: which one (`basis`), its value and unit."""

    basis: str  # LOADGEN_METRIC or WALL_THROUGHPUT
    value: float
    unit: str
    higher_is_better: bool


@dataclass(frozen=True)
class Regression:
    """A run's figure against the median of its family's earlier runs.

    `change` is value / median - 1 (-0.12: 12 % lower); `flagged` says it is worse than the
    median by more than `margin` (lower for a rate, higher for a latency)."""

    basis: str
    unit: str
    value: float
    previous_median: float | None
    previous_runs: int
    change: float | None
    margin: float
    flagged: bool
    higher_is_better: bool = True

    def line(self, node: str | None = None) -> str:
        """One sentence for the batch lines, the details and the reports."""
        figure = f"{self.basis} {units.with_unit(self.value, self.unit)}"
        if self.previous_runs == 0 or self.change is None:
            return f"{figure}: no earlier run of this node, benchmark and scenario to compare"
        where = f"{node}'s" if node else "the node's"
        median = units.with_unit(self.previous_median, self.unit)
        runs = f"{self.previous_runs} earlier run{'s' if self.previous_runs != 1 else ''}"
        word = "below" if self.change < 0 else "above"
        change = f"{units.num(abs(self.change) * 100, 3)}% {word}"
        margin = f"margin {units.num(self.margin * 100, 3)}%"
        head = "REGRESSION: " if self.flagged else ""
        return f"{head}{figure} is {change} {where} previous median {median} ({runs}; {margin})"


def judge(measure: Measure, previous: Sequence[float], margin: float) -> Regression:
    """The regression check, computed here only: `measure` against the median of `previous`
    (the same family's earlier values)."""
    median = statistics.median(previous) if previous else None
    ratio = figures.relative(measure.value, median)
    change = None if ratio is None else ratio - 1.0
    if change is None:
        flagged = False
    elif measure.higher_is_better:
        flagged = change < -margin
    else:
        flagged = change > margin
    return Regression(
        measure.basis,
        measure.unit,
        measure.value,
        median,
        len(previous),
        change,
        margin,
        flagged,
        measure.higher_is_better,
    )
