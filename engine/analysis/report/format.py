"""How the markdown reports write numbers, durations and missing figures.

The numbers, durations and projections themselves are `engine.units` (shared with the
console); this adds what only markdown needs. One place, so that every report writes a figure
the same way and the tests can parse it back: LoadGen's own values exactly as recorded; derived
figures to 4 significant digits; a missing figure as "—" followed by why it is missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from engine.units import MISSING, duration, hours, num, percent, ratio

__all__ = ["MISSING", "cell", "exact", "hours", "missing", "names", "num", "percent", "ratio"]
__all__ += ["projection", "reasons", "seconds", "table"]


def missing(reason: str) -> str:
    return f"{MISSING} ({reason})"


def exact(x: float | int | None) -> str:
    """A recorded value as recorded: LoadGen's metric already carries its own precision, so up
    to 15 significant digits (float noise beyond that is dropped), thousands separated."""
    if x is None:
        return MISSING
    return f"{x:,.15g}"


def seconds(x: float | None) -> str:
    """'722.6 s (12 min 03 s)': the recorded seconds, and the readable form from a minute up."""
    if x is None:
        return MISSING
    text = f"{num(x)} s"
    return text + f" ({duration(x)})" if x >= 60 else text


def projection(h: float | None) -> str:
    """A projection in hours to 4 significant digits, readable beside it under an hour:
    `26.83 h`, `0.3713 h (22 min 17 s)`."""
    if h is None:
        return MISSING
    return f"{num(h)} h" + (f" ({duration(h * 3600)})" if h < 1 else "")


def reasons(items: Iterable[str]) -> str:
    """LoadGen's reasons on one line, each without its closing full stop."""
    return "; ".join(str(r).rstrip(". ") for r in items)


def names(items: Iterable[str], limit: int = 6) -> str:
    """Run dirs in backticks; past `limit`, a count of the rest (the full list is in the
    report's run table)."""
    items = list(items)
    shown = ", ".join(f"`{i}`" for i in items[:limit])
    if len(items) > limit:
        shown += f" and {len(items) - limit} more"
    return shown or MISSING


def cell(text: object) -> str:
    """A markdown table cell: pipes and newlines would break the row."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """A markdown table's lines: the header, the rule, one line per row of cells."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return out
