"""How every bench script reports: `name: value` lines that `bench/run_all` collects, the
machine they ran on (once per script), and the spread of repeated measurements.

The machine is shared with other work, so a single measurement can be off by a lot: the
scripts repeat what they measure and print every repetition, the median and the spread.
Not a script (no `__main__`), so `run_all` does not run it.
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def use_repo() -> None:
    """Make `engine`, `console` and `tests` importable when a script runs as
    `python bench/<script>.py` from anywhere."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))


def machine() -> str:
    """`<nproc> cores, <model name>, <MemTotal>` from /proc (what the figures depend on)."""
    model = "unknown CPU"
    mem = "unknown memory"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                kib = int(line.split()[1])
                mem = f"MemTotal {kib} kB ({kib / 1024 / 1024:.1f} GiB)"
                break
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores, {model}, {mem}"


def load_average() -> str:
    """The 1-minute load average: how busy the shared cores were around a measurement."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def figure(name: str, value: object) -> None:
    """One `name: value` line; floats get 4 significant digits, None prints as `missing`."""
    if value is None:
        text = "missing"
    elif isinstance(value, float):
        text = f"{value:.4g}"
    else:
        text = str(value)
    print(f"{name}: {text}", flush=True)


def note(text: str) -> None:
    """A free-text line (no colon after a single word, so it is never read as a figure)."""
    print(f"  - {text}", flush=True)


def spread(values: Sequence[float], unit: str = "") -> str:
    """`min..max unit (n runs)` of repeated measurements."""
    if not values:
        return "no measurements"
    unit = f" {unit}" if unit else ""
    return f"{min(values):.4g}..{max(values):.4g}{unit} ({len(values)} runs)"


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None
