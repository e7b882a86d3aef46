"""What every LoadGen reader returns: problems, metrics, and the JSON-safe form of both.

Every reader returns what it could read plus a tuple of `Problem`s; none raises on a missing,
empty, truncated, binary or partly corrupt file, because a run that crashed is exactly when a
user needs to look at its logs.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Problem:
    """Something wrong or missing in a file. `line` is 1-based, None when it concerns the file."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "message": self.message}


@dataclass(frozen=True)
class Metric:
    """One LoadGen figure. `name` is the summary's wording, `key` the detail log's `result_*`
    key that holds the same figure (None when the detail log has no such key)."""

    name: str
    value: float
    unit: str  # "samples/s" | "tokens/s" | "ns" | "queries/s"
    key: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": json_safe(self.value),
            "unit": self.unit,
            "key": self.key,
        }


def json_safe(value: Any) -> Any:
    """`value` with tuples as lists and non-finite floats as None, so json.dumps never writes
    NaN or Infinity (which are not JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


def record_dict(record: Any, *, after: str | None = None, **derived: Any) -> dict[str, Any]:
    """A parsed file's dataclass as JSON: its fields in declaration order and the `derived`
    figures its properties compute right after the field `after` (None: at the end), made
    `json_safe`."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        values[f.name] = getattr(record, f.name)
        if f.name == after:
            values |= derived
    return json_safe(values if after is not None else values | derived)


_MODES = {
    "PerformanceOnly": "performance",
    "AccuracyOnly": "accuracy",
    "SubmissionRun": "submission",
    "FindPeakPerformance": "find_peak_performance",
}


def normalise_mode(raw: str | None) -> str | None:
    """LoadGen's test mode word as mlconsole's mode ("performance", "accuracy"); an unknown word
    is returned unchanged."""
    if raw is None:
        return None
    return _MODES.get(raw, raw)


def read_text(path: Path, problems: list[Problem]) -> str | None:
    """The file as text, or None when it cannot be read. NUL bytes are dropped and bytes that
    are not UTF-8 replaced, each with a problem, so a corrupt file still yields its good lines."""
    name = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        problems.append(Problem(name, None, "file not found"))
        return None
    except IsADirectoryError:
        problems.append(Problem(name, None, "is a directory, not a log file"))
        return None
    except OSError as err:
        problems.append(Problem(name, None, f"cannot be read: {err.strerror or err}"))
        return None
    nul = data.count(b"\x00")
    if nul:
        problems.append(
            Problem(name, None, f"contains {nul} NUL bytes (binary or corrupt); they were skipped")
        )
        data = data.replace(b"\x00", b"")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        problems.append(
            Problem(
                name,
                None,
                f"is not valid UTF-8 (first bad byte at offset "
                f"{err.start}); bad bytes were replaced",
            )
        )
        return data.decode("utf-8", "replace")
