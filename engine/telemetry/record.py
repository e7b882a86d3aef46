"""telemetry.csv in a run dir, and the `telemetry.state.json` beside it.

The CSV holds one row per GPU per reading; a cell the GPU did not report is empty (read back
as None). The state file says how sampling went for the whole run ('ok', 'no-driver',
'no-nvidia-smi', 'error', 'stale', 'no samples') with a one-sentence detail, so a report can
write "no telemetry: <reason>" instead of an empty chart. When there is no telemetry at all,
the CSV is still written, header only.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from engine.model import GpuSample

HEADER = (
    "ts",
    "node",
    "gpu",
    "name",
    "utilization_pct",
    "memory_used_mib",
    "memory_total_mib",
    "temperature_c",
    "power_w",
    "sm_clock_mhz",
)
STATE_FILE = "telemetry.state.json"
_NUMBERS = HEADER[4:]


class TelemetryRecorder:
    """Appends samples to `path` (telemetry.csv), writing the header when the file is new or
    empty and flushing after every batch, so a crash loses at most the batch being written.
    Appending to an existing file keeps what a previous console recorded (re-attach)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.rows = 0
        self._file: IO[str] | None = None
        self._writer: Any = None

    def write(self, samples: Iterable[GpuSample]) -> None:
        if self._file is None:
            self._open()
        for s in samples:
            self._writer.writerow(
                [
                    f"{s.ts:.3f}",
                    s.node,
                    s.gpu,
                    s.name or "",
                    *(_cell(getattr(s, f)) for f in _NUMBERS),
                ]
            )
            self.rows += 1
        assert self._file is not None
        self._file.flush()

    def close(self) -> None:
        if self._file is None:
            self._open()  # an empty run still gets a header-only file
        assert self._file is not None
        self._file.close()
        self._file = None

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        self._file = self.path.open("a", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file, lineterminator="\n")
        if fresh:
            self._writer.writerow(HEADER)
            self._file.flush()

    def __enter__(self) -> TelemetryRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_telemetry(path: Path) -> list[GpuSample]:
    """Every well-formed row of a telemetry.csv ([] when the file is missing). Rows that are
    cut short or unreadable (a crash mid-write) are skipped, not guessed at."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        return []
    samples = []
    for row in csv.DictReader(text.splitlines()):
        if None in row or any(row.get(k) is None for k in HEADER):
            continue
        try:
            samples.append(
                GpuSample(
                    ts=float(row["ts"]),
                    node=row["node"],
                    gpu=int(row["gpu"]),
                    name=row["name"] or None,
                    **{f: _value(row[f]) for f in _NUMBERS},
                )
            )
        except ValueError:
            continue
    return samples


def write_state(path: Path, node: str, state: str, detail: str = "", **extra: Any) -> Path:
    """Write telemetry.state.json next to `path` (the telemetry.csv); returns its path."""
    target = Path(path).with_name(STATE_FILE)
    target.parent.mkdir(parents=True, exist_ok=True)
    record = {"node": node, "state": state, "detail": detail, "written_at": time.time(), **extra}
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(target)
    return target


def write_no_telemetry(path: Path, node: str, state: str, detail: str) -> Path:
    """Record that `node` gave no GPU telemetry and why: a header-only telemetry.csv at `path`
    (an existing file is left as it is) and telemetry.state.json beside it."""
    TelemetryRecorder(path).close()
    return write_state(path, node, state, detail, samples=0)


def read_state(path: Path) -> dict[str, Any] | None:
    """telemetry.state.json next to `path` (a telemetry.csv or its run dir); None if absent."""
    path = Path(path)
    target = path / STATE_FILE if path.is_dir() else path.with_name(STATE_FILE)
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _cell(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else format(value, ".10g")


def _value(text: str) -> float | None:
    if not text.strip():
        return None
    value = float(text)
    return value if math.isfinite(value) else None
