#!/usr/bin/env python3
"""`help_wall_s`: wall time of the installed `mlconsole --help` (the console script in the
venv, as a user types it), median of 10, next to the bare interpreter's start-up, which bounds
it from below.

When the median is over the 0.25 s target, `python -X importtime` names the imports that cost
the time and which of them are not the standard library (the usual culprit: a heavy package
imported at module level on the `--help` path, which must move into the function that needs
it). Exits 0 either way.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from figure_lines import REPO, figure, load_average, machine, median, note, spread

RUNS = 10
TARGET_S = 0.25
STDLIB = set(sys.stdlib_module_names)


def script() -> Path:
    """The console script `make` installs; falls back to the interpreter's bin dir."""
    venv_script = REPO / ".venv" / "bin" / "mlconsole"
    for candidate in (venv_script, Path(sys.executable).parent / "mlconsole"):
        if candidate.exists():
            return candidate
    raise SystemExit("help_time: no mlconsole console script found (run `make` first)")


def wall(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def imports(exe: Path) -> list[tuple[int, int, str]]:
    """(self us, cumulative us, module) of every import on the `--help` path, slowest first."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", str(exe), "--help"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
    ).stderr
    rows = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = line.removeprefix("import time:").split("|")
        rows.append((int(self_us), int(cumulative), name.strip()))
    return sorted(rows, key=lambda r: r[1], reverse=True)


def main() -> int:
    print(f"machine: {machine()}")
    exe = script()
    python = exe.parent / "python"
    wall([str(exe), "--help"])  # warm the page cache; not counted
    helps = [wall([str(exe), "--help"]) for _ in range(RUNS)]
    interpreter = str(python if python.exists() else sys.executable)
    bare = [wall([interpreter, "-c", "pass"]) for _ in range(RUNS)]
    help_s = median(helps)
    figure("help_wall_s", help_s)
    note(f"mlconsole --help: {spread(helps, 's')}; load average {load_average()}")
    figure("help_python_startup_s", median(bare))
    note("bare `python -c pass` on the same interpreter: the floor no code change can go below")
    rows = imports(exe)
    ours = sorted({name for _, _, name in rows if name.split(".")[0] not in STDLIB})
    note(f"modules outside the standard library imported by --help: {', '.join(ours)}")
    if help_s is not None and help_s > TARGET_S:
        note(f"over the {TARGET_S} s target; slowest imports on the --help path (-X importtime):")
        for self_us, cumulative, name in rows[:12]:
            where = "stdlib" if name.split(".")[0] in STDLIB else "NOT stdlib"
            cost = f"{cumulative / 1e6:.3f} s cumulative ({self_us / 1e6:.3f} s self)"
            note(f"{cost}: {name} ({where})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
