"""nvidia-smi's CSV query output: the command line, one line -> one `GpuSample`, and what a
failed nvidia-smi means.

SSH nodes are sampled with the tool every NVIDIA driver installs, so nothing is installed on
them. nvidia-smi prints `[N/A]`, `[Not Supported]`, `[Unknown Error]` ... where a GPU cannot
answer (MIG-enabled GPUs answer `[N/A]` for utilization): those become None, never 0. A line
that is not a GPU row (a header, an error message, a half-written line) is None as a whole.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from datetime import datetime, tzinfo

from engine.model import GpuSample

FIELDS = (
    "timestamp",
    "index",
    "name",
    "utilization.gpu",
    "memory.used",
    "memory.total",
    "temperature.gpu",
    "power.draw",
    "clocks.sm",
)

# Other spellings nvidia-smi accepts (and prints in headers) for the same readings.
_ALIASES = {
    "gpu_name": "name",
    "power.draw.instant": "power.draw",
    "clocks.current.sm": "clocks.sm",
}
_UNITS = ("MiB", "MHz", "W", "%", "C")
_NO_SMI_MARKERS = ("command not found", "not found", "no such file or directory")
_NO_DRIVER_MARKERS = (
    "communicate with the nvidia driver",
    "no devices were found",
    "failed to initialize nvml",
    "driver/library version mismatch",
    "no supported gpus were found",
    "nvml shared library",
    "driver is not loaded",
    "couldn't find libnvidia-ml",
)
# nvidia-smi(1), RETURN VALUE: 9 driver not loaded, 12 NVML shared library not found.
_NO_DRIVER_EXIT = frozenset({9, 12})
_TIMESTAMP_FORMATS = ("%Y/%m/%d %H:%M:%S.%f", "%Y/%m/%d %H:%M:%S")


def query_argv(fields: Sequence[str] = FIELDS) -> list[str]:
    """One reading of every GPU, then exit (the check made before a stream starts)."""
    return ["nvidia-smi", f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"]


def stream_argv(interval_ms: int) -> list[str]:
    """The long-lived stream: one line per GPU every `interval_ms`, until killed."""
    return [*query_argv(), "-lms", str(max(1, int(interval_ms)))]


def normalize_field(name: str) -> str:
    """A header cell (`utilization.gpu [%]`) or query name to the name FIELDS uses."""
    name = name.strip()
    if name.endswith("]") and " [" in name:
        name = name[: name.rindex(" [")]
    return _ALIASES.get(name, name)


def parse_header(line: str) -> tuple[str, ...]:
    """The field names of a `--format=csv` header line."""
    return tuple(normalize_field(c) for c in _cells(line))


def parse_number(text: str) -> float | None:
    """A numeric cell, with or without its unit; None for `[N/A]`, `N/A`, `[Not Supported]`,
    `[Unknown Error]`, an empty cell or anything else that is not a finite number."""
    text = text.strip()
    if not text or text.startswith("[") or text.upper() == "N/A":
        return None
    for unit in _UNITS:
        if text.endswith(unit):
            text = text[: -len(unit)].rstrip()
            break
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_timestamp(text: str, tz: tzinfo | None = None) -> float | None:
    """`2026/11/29 10:15:42.123` as unix seconds. nvidia-smi prints the node's local time
    without a zone: `tz` says which zone that is (None: this machine's local zone)."""
    text = text.strip()
    for fmt in _TIMESTAMP_FORMATS:
        try:
            stamp = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return (stamp.replace(tzinfo=tz) if tz is not None else stamp).timestamp()
    return None


def parse_line(
    line: str,
    node: str,
    *,
    fields: Sequence[str] = FIELDS,
    tz: tzinfo | None = None,
    ts: float | None = None,
) -> GpuSample | None:
    """One GPU row of `--query-gpu=<fields>` output as a GpuSample; None when the line is not
    one (wrong number of cells, no GPU index, no time).

    Rows without a `timestamp` field take `ts`. Values may carry units (`--format=csv`) or
    not (`nounits`); cells nvidia-smi could not read are None.
    """
    cells = _cells(line)
    names = [normalize_field(f) for f in fields]
    if not cells or len(cells) != len(names):
        return None
    row = dict(zip(names, cells, strict=True))
    index = parse_number(row.get("index", ""))
    if index is None or index < 0 or not index.is_integer():
        return None
    when = parse_timestamp(row["timestamp"], tz) if "timestamp" in row else ts
    if when is None:
        return None
    util = _number(row, "utilization.gpu")
    if util is not None and not 0 <= util <= 100:
        util = None
    name = row.get("name", "").strip()
    return GpuSample(
        ts=when,
        node=node,
        gpu=int(index),
        utilization_pct=util,
        memory_used_mib=_number(row, "memory.used"),
        memory_total_mib=_number(row, "memory.total"),
        temperature_c=_number(row, "temperature.gpu"),
        power_w=_number(row, "power.draw"),
        sm_clock_mhz=_number(row, "clocks.sm"),
        name=name if name and not name.startswith("[") else None,
    )


def classify_failure(text: str, exit_status: int | None) -> str:
    """Why nvidia-smi gave no GPU rows: 'no-nvidia-smi' (not installed), 'no-driver' (no
    driver, NVML cannot start, or no GPU bound to the driver) or 'error' (anything else, e.g.
    one GPU fell off the bus)."""
    low = " ".join(text.lower().replace("\u2018", "'").replace("\u2019", "'").split())
    if exit_status == 127:
        return "no-nvidia-smi"
    if any(m in low for m in _NO_DRIVER_MARKERS):
        return "no-driver"
    if "nvidia-smi" in low and any(m in low for m in _NO_SMI_MARKERS):
        return "no-nvidia-smi"
    if exit_status in _NO_DRIVER_EXIT:
        return "no-driver"
    return "error"


def first_line(text: str, limit: int = 200) -> str:
    """The first non-empty line of a tool's output, for a one-sentence detail."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:limit]
    return ""


def _cells(line: str) -> list[str]:
    line = line.strip()
    if not line:
        return []
    try:
        return next(csv.reader([line], skipinitialspace=True), [])
    except csv.Error:
        return []


def _number(row: dict[str, str], field: str) -> float | None:
    value = parse_number(row[field]) if field in row else None
    return value if value is None or value >= 0 else None
