"""Reading a results file's fields: a value of the wrong type reads as None (missing), never
as a made-up value, so a hand-edited or older file reports what it holds and says what it
lacks. Shared by the run and group summary schemas (and anything else reading our JSON).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def as_mapping(x: Any) -> Mapping[str, Any]:
    return x if isinstance(x, Mapping) else {}


def as_float(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return float(x)


def as_int(x: Any) -> int | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return int(x)


def as_str(x: Any) -> str | None:
    return None if x is None else str(x)


def as_bool(x: Any) -> bool | None:
    return x if isinstance(x, bool) else None


def as_strs(x: Any) -> tuple[str, ...]:
    if isinstance(x, str) or not isinstance(x, Sequence):
        return ()
    return tuple(str(v) for v in x)
