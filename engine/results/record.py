"""The one codec of the results files' records: a frozen dataclass is written field by field,
in declaration order, and read back field by field by the reader its annotation names
(`engine.results.coerce`: the wrong type reads as missing). A record's to_json/from_json
says only what differs from that rule (a nested record, a versioned state, a renamed key),
so adding a field is one line in the dataclass, not three in hand-written mappings that can
drift apart.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any, Self, TypeVar

from engine.results.coerce import as_bool, as_float, as_int, as_mapping, as_str, as_strs

R = TypeVar("R")

# Annotations as written (the schema modules use `from __future__ import annotations`).
READERS: Mapping[str, Callable[[Any], Any]] = {
    "str | None": as_str,
    "int | None": as_int,
    "float | None": as_float,
    "bool | None": as_bool,
    "bool": bool,
    "tuple[str, ...]": as_strs,
}


def plain(value: Any) -> Any:
    """A field's JSON form: a record's own to_json, an enum's value, a tuple as a list;
    anything else as it is."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return dict(value)
    to_json = getattr(value, "to_json", None)
    return to_json() if callable(to_json) else value


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    """Each field's name and its annotation's reader (None: none), once per class (a report
    reads thousands of summaries)."""
    return tuple(
        (f.name, READERS.get(f.type) if isinstance(f.type, str) else None) for f in fields(cls)
    )


def record_to_json(
    record: Any, *, skip: tuple[str, ...] = (), after: str | None = None, **derived: Any
) -> dict[str, Any]:
    """Every field of `record` but `skip`, in declaration order, and the `derived` values its
    properties compute (written for readers of the file, never read back) right after the
    field `after` (None: at the end), where the file has always had them."""
    extra = {name: plain(value) for name, value in derived.items()}
    out: dict[str, Any] = {}
    for name, _ in _fields(type(record)):
        if name not in skip:
            out[name] = plain(getattr(record, name))
        if name == after:
            out |= extra
    return out if after is not None else out | extra


def record_from_json(cls: type[R], data: Any, **given: Any) -> R:
    """`cls` read from `data`: each field by its annotation's reader, except those `given`
    (already read by the caller: nested records, versioned states, fields under another
    key). A field with neither is a programming error, named."""
    d = as_mapping(data)
    values: dict[str, Any] = {}
    for name, read in _fields(cls):
        if name in given:
            values[name] = given[name]
        elif read is not None:
            values[name] = read(d.get(name))
        else:
            raise TypeError(f"{cls.__name__}.{name} has no reader for its type; pass it")
    return cls(**values)


def copied(cls: type[R], source: Any, **given: Any) -> R:
    """`cls` with each field taken from `source`'s attribute of the same name, except those
    `given`: a record of what another object holds (a summary's host from the probed facts,
    a group's shard from its run's summary)."""
    return cls(**{n: given[n] if n in given else getattr(source, n) for n, _ in _fields(cls)})


def records_from_json(read: Callable[[Any], R], data: Any) -> tuple[R, ...]:
    """A list field of records: its entries that are objects, each read by `read`."""
    items = data if isinstance(data, list) else []
    return tuple(read(item) for item in items if isinstance(item, Mapping))


class JsonRecord:
    """A frozen dataclass whose file form is exactly its fields: `to_json` and `from_json` by
    the rule above. A record with a field that needs more overrides `from_json` and passes
    that field to `record_from_json`."""

    def to_json(self) -> dict[str, Any]:
        return record_to_json(self)

    @classmethod
    def from_json(cls, data: Any) -> Self:
        return record_from_json(cls, data)
