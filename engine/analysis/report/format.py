"""How the markdown reports write numbers, durations and missing figures.

One place, so that every report writes a figure the same way and the tests can parse it back:
LoadGen's own values exactly as recorded; derived figures to 4 significant digits; a missing
figure as "—" followed by why it is missing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

MISSING = "—"


def missing(reason: str) -> str:
    return f"{MISSING} ({reason})"


def num(x: float | int | None, sig: int = 4) -> str:
    """`x` to `sig` significant digits, thousands separated, no scientific notation; integers
    stay whole. None is "—" (callers that know why use `missing`)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return MISSING
    if isinstance(x, int) and not isinstance(x, bool):
        return f"{x:,}"
    if x == 0:
        return "0"
    decimals = max(0, sig - 1 - math.floor(math.log10(abs(x))))
    text = f"{x:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def exact(x: float | int | None) -> str:
    """A recorded value as recorded: LoadGen's metric already carries its own precision, so up
    to 15 significant digits (float noise beyond that is dropped), thousands separated."""
    if x is None:
        return MISSING
    return f"{x:,.15g}"


def ratio(x: float | None) -> str:
    return MISSING if x is None else f"{x:.2f}x"


def percent(x: float | None) -> str:
    return MISSING if x is None else f"{num(x, 3)}%"


def seconds(x: float | None) -> str:
    """'722.6 s (12m 03s)'; the clock form only from a minute up."""
    if x is None:
        return MISSING
    text = f"{num(x)} s"
    if x >= 60:
        m, s = divmod(int(round(x)), 60)
        h, m = divmod(m, 60)
        text += f" ({h}h {m:02d}m {s:02d}s)" if h else f" ({m}m {s:02d}s)"
    return text


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
