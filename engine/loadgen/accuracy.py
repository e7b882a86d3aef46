"""`mlperf_log_accuracy.json`: one record line per sample LoadGen logged the response of.

A submission's copy is usually truncated by the official `truncate_accuracy_log.py`: its first
and last 4 KB joined by a `...` line, the hash of the whole file written into `accuracy.txt`.
Such a file is recognised (`truncated`), and its record count means nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.loadgen.records import Problem, record_dict

_JSON_CHECK_LIMIT = 16 << 20  # whole-file JSON validation only below this size
# The line truncate_accuracy_log.py puts between the kept head and tail of the file.
_TRUNCATION_MARK = b"..."


@dataclass(frozen=True)
class AccuracyLog:
    """`mlperf_log_accuracy.json`: `entries` counts sample records line by line, so a file
    still being written (`[` and some records, no closing `]`) is counted too."""

    path: str
    entries: int = 0
    opened: bool = False
    closed: bool = False
    size_bytes: int | None = None
    truncated: bool = False  # cut by truncate_accuracy_log.py: `entries` is not the sample count
    problems: tuple[Problem, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self)


def parse_accuracy(path: str | Path) -> AccuracyLog:
    """Count the records of an accuracy log without loading it whole (it can be gigabytes).
    Never raises; see `AccuracyLog.problems`."""
    path = Path(path)
    name = str(path)
    problems: list[Problem] = []
    entries = 0
    first = last = b""
    nul_lines = 0
    truncated = False
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            for raw in fh:
                stripped = raw.strip()
                if not stripped:
                    continue
                if b"\x00" in stripped:
                    nul_lines += 1
                    stripped = stripped.replace(b"\x00", b"").strip()
                    if not stripped:
                        continue
                first = first or stripped[:1]
                last = stripped[-1:]
                if stripped == _TRUNCATION_MARK:
                    truncated = True
                if stripped.startswith(b"{"):
                    entries += 1
    except FileNotFoundError:
        return AccuracyLog(name, problems=(Problem(name, None, "file not found"),))
    except OSError as err:
        return AccuracyLog(
            name, problems=(Problem(name, None, f"cannot be read: {err.strerror or err}"),)
        )
    if nul_lines:
        problems.append(
            Problem(name, None, f"{nul_lines} lines contain NUL bytes (binary or corrupt)")
        )
    opened, closed = first == b"[", last == b"]"
    if size == 0:
        problems.append(Problem(name, None, "is empty: LoadGen had not opened it yet"))
    elif not opened:
        problems.append(Problem(name, None, "does not start with '[': not a LoadGen accuracy log"))
    elif not closed:
        problems.append(
            Problem(name, None, "has no closing ']': the run is still going, or it stopped early")
        )
    elif size <= _JSON_CHECK_LIMIT and not nul_lines and not truncated:
        try:
            records = json.loads(path.read_bytes())
        except (ValueError, OSError):
            problems.append(Problem(name, None, "is not valid JSON although it is closed"))
        else:
            if isinstance(records, list):
                entries = len(records)  # also right when records do not sit one per line
            else:
                problems.append(Problem(name, None, "is JSON but not a list of records"))
    return AccuracyLog(
        name,
        entries=entries,
        opened=opened,
        closed=closed,
        size_bytes=size,
        truncated=truncated,
        problems=tuple(problems),
    )
