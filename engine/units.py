"""How mlconsole writes a number, a duration and a projection: the one source.

The batch lines, the TUI (`console.format`) and the markdown reports
(`engine.analysis.report.format`) all write figures through these functions, so a figure reads
the same wherever it appears and the tests can parse it back. Missing is "—", never 0.

- numbers: `sig` significant digits, thousands separated, never scientific notation;
- durations: `42 s`, `1.2 s` (under 10 s), `6 min 46 s`, `2 h 03 min`;
- projections (hours): `26.8 h` from an hour up, `46 min` below.
"""

from __future__ import annotations

import math

MISSING = "—"


def num(x: float | int | None, sig: int = 4) -> str:
    """`x` to `sig` significant digits, thousands separated, no scientific notation; integers
    stay whole. None (or a non-finite float) is "—"."""
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


def with_unit(x: float | int | None, unit: str = "", sig: int = 3) -> str:
    """`num` followed by its unit; a missing figure is "—" without a unit."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return MISSING
    return f"{num(x, sig)} {unit}".rstrip()


def duration(s: float | None) -> str:
    """A wall duration in readable units: `1.2 s`, `42 s`, `6 min 46 s`, `2 h 03 min`."""
    if s is None or not math.isfinite(s):
        return MISSING
    if s < 0:
        return f"-{duration(-s)}"
    if s < 10:
        return f"{num(s, 2)} s"
    total = int(round(s))
    if total < 60:
        return f"{total} s"
    if total < 3600:
        m, sec = divmod(total, 60)
        return f"{m} min {sec:02d} s" if sec else f"{m} min"
    h, rem = divmod(total, 3600)
    m = rem // 60
    return f"{h} h {m:02d} min" if m else f"{h} h"


def hours(h: float | None) -> str:
    """A projection in hours: `26.8 h` from an hour up (3 significant digits), `46 min` below."""
    if h is None or not math.isfinite(h):
        return MISSING
    if h < 1:
        return duration(h * 3600)
    return f"{num(h, 3)} h"


def percent(x: float | None, sig: int = 3) -> str:
    return MISSING if x is None else f"{num(x, sig)}%"


def signed_percent(x: float | None, sig: int = 3) -> str:
    """A change in percent with its sign: `+4.2%`, `-7.9%`."""
    if x is None or not math.isfinite(x):
        return MISSING
    return f"{'+' if x >= 0 else '-'}{num(abs(x), sig)}%"


def ratio(x: float | None) -> str:
    """A speedup or relative figure: `2.10x`."""
    return MISSING if x is None or not math.isfinite(x) else f"{x:.2f}x"
