"""Reading parsed TOML tables with a key path for every value.

tomllib gives plain dicts and no positions; this module checks each value's type and range
against what the config reference promises and, when one is wrong, raises a ConfigError that
names the key path (`nodes.gpu1.port`, `plan[2].samples`), the line where the key is written
(found by scanning the text, when it can be found unambiguously) and what was expected.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from engine.errors import ConfigError

KeyPath = tuple[str | int, ...]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
NAME_RULE = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, no '..'"


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


def valid_name(name: str) -> bool:
    """Node, benchmark and stage names become directory names and run ids: keep them tame."""
    return bool(_NAME.match(name)) and ".." not in name


def key_text(path: KeyPath) -> str:
    """`nodes.gpu1.port`; array items count from 1, as `plan[2]` is the second [[plan]]."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        name = part if _BARE_KEY.match(part) else '"' + part.replace('"', '\\"') + '"'
        out += f".{name}" if out else name
    return out


def describe(value: object) -> str:
    """What a TOML value is, for 'got ...' in a message."""
    if isinstance(value, bool):
        return f"a boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"an integer {value}"
    if isinstance(value, float):
        return f"a float {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f'a string "{shown}"'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__} ({value})"


def suggestion(word: str, choices: Sequence[str]) -> str:
    """'; did you mean "port"?' or ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f'; did you mean "{close[0]}"?' if close else ""


def quoted_list(names: Sequence[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def unknown_name(word: str, table: str, name: str, names: Sequence[str]) -> tuple[str, str]:
    """The message and the expectation when a key names a [table.*] the config lacks: one
    wording for a stage's benchmark, node and service and for settings.baseline_node."""
    return (
        f'names no {word} "{name}"{suggestion(name, names)}',
        f"one of the [{table}.*] names: {quoted_list(names) or '(none defined)'}",
    )


# --- where a key is written ---------------------------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)([^\[\]]+)\]\]?\s*(?:#.*)?$")
_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY_LINE = re.compile(rf"^\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")
_KEY_PART = re.compile(_PART)


def _dotted(text: str) -> tuple[str, ...]:
    return tuple(p.strip("\"'") for p in _KEY_PART.findall(text))


def locate(text: str, path: KeyPath) -> int | None:
    """The 1-based line that writes `path` (or the table holding it), None when unsure.

    A line scan, not a parser: multi-line strings are skipped so a user.conf line such as
    `demo.Offline.min_duration = 0` is not mistaken for a key.
    """
    best: tuple[int, int] | None = None  # (matched length, line)
    header: KeyPath = ()
    array_counts: dict[tuple[str, ...], int] = {}
    in_string: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string is not None:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        header_match = _HEADER.match(line)
        if header_match:
            names = _dotted(header_match.group(2))
            if header_match.group(1) == "[[":
                array_counts[names] = array_counts.get(names, 0) + 1
                header = (*names, array_counts[names])
            else:
                header = _with_array_index(names, array_counts)
            best = _better(best, path, header, number)
            continue
        key_match = _KEY_LINE.match(line)
        if key_match:
            full = (*header, *_dotted(key_match.group(1)))
            rest = line[key_match.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_string = quote
            best = _better(best, path, full, number)
    return best[1] if best else None


def _better(
    best: tuple[int, int] | None, path: KeyPath, written: KeyPath, line: int
) -> tuple[int, int] | None:
    """Keep the line that writes the longest part of `path`: the key itself, else the table
    holding it. A line that writes something inside `path` (`[nodes.a]` for `nodes`) counts."""
    if not written:
        return best
    if path[: len(written)] == written:
        matched = len(written)
    elif written[: len(path)] == path:
        matched = len(path)
    else:
        return best
    if best is None or matched > best[0]:
        return (matched, line)
    return best


def _with_array_index(names: tuple[str, ...], counts: Mapping[tuple[str, ...], int]) -> KeyPath:
    """`[plan.env]` after the 3rd `[[plan]]` belongs to plan[3]."""
    for cut in range(len(names) - 1, 0, -1):
        if names[:cut] in counts:
            return (*names[:cut], counts[names[:cut]], *names[cut:])
    return names


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """The config file being read: where errors point."""

    file: str
    text: str

    def error(self, path: KeyPath, message: str, expected: str | None = None) -> ConfigError:
        return ConfigError(
            message,
            file=self.file,
            key=key_text(path) or None,
            expected=expected,
            line=locate(self.text, path) if path else None,
        )


class Section:
    """One table of the config, read key by key; every failure names its key path."""

    def __init__(self, source: Source, data: Mapping[str, Any], path: KeyPath) -> None:
        self.source = source
        self.data = data
        self.path = path

    def at(self, key: str | int) -> KeyPath:
        return (*self.path, key)

    def error(
        self, key: str | int | None, message: str, expected: str | None = None
    ) -> ConfigError:
        return self.source.error(self.path if key is None else self.at(key), message, expected)

    def has(self, key: str) -> bool:
        return key in self.data

    def check_keys(self, known: Sequence[str], what: str) -> None:
        """The first key (in file order) that is not in `known` is an error."""
        for key in self.data:
            if key not in known:
                raise self.error(
                    key,
                    f'"{key}" is not a key of {what}{suggestion(key, known)}',
                    f"one of {quoted_list(known)}",
                )

    def _absent(self, key: str, default: Any, expected: str) -> Any:
        if default is REQUIRED:
            raise self.error(key, "is missing", expected)
        return default

    def _wrong(self, key: str, value: object, expected: str) -> ConfigError:
        return self.error(key, f"got {describe(value)}", expected)

    def string(
        self,
        key: str,
        default: Any = None,
        *,
        expected: str = "a non-empty string",
        allow_empty: bool = False,
    ) -> Any:
        if key not in self.data:
            return self._absent(key, default, expected)
        value = self.data[key]
        if not isinstance(value, str) or (not value and not allow_empty):
            raise self._wrong(key, value, expected)
        return value

    def integer(
        self, key: str, default: Any = None, *, low: int | None = None, high: int | None = None
    ) -> Any:
        expected = _int_expectation(low, high)
        if key not in self.data:
            return self._absent(key, default, expected)
        value = self.data[key]
        # bool is an int to Python but never to a config reader.
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._wrong(key, value, expected)
        if (low is not None and value < low) or (high is not None and value > high):
            raise self._wrong(key, value, expected)
        return value

    def seconds(self, key: str, default: Any = None) -> Any:
        """A duration: an integer or float > 0, returned as float."""
        return self._real(key, default, "a number of seconds > 0", lambda v: v > 0)

    def number(self, key: str, default: Any = None, *, low: float = 0.0) -> Any:
        """An integer or float >= `low`, returned as float."""
        return self._real(key, default, f"a number >= {low:g}", lambda v: v >= low)

    def fraction(self, key: str, default: Any = None) -> Any:
        """A share from 0 up to (not including) 1, e.g. 0.05 for 5 %, returned as float."""
        expected = "a fraction from 0 to below 1 (0.05 is 5 %)"
        return self._real(key, default, expected, lambda v: 0 <= v < 1)

    def _real(self, key: str, default: Any, expected: str, accept: Callable[[float], bool]) -> Any:
        """A finite integer or float that `accept`s, returned as float."""
        if key not in self.data:
            return self._absent(key, default, expected)
        value = self.data[key]
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or not accept(value):
            raise self._wrong(key, value, expected)
        return float(value)

    def boolean(self, key: str, default: Any = None) -> Any:
        if key not in self.data:
            return self._absent(key, default, "true or false")
        value = self.data[key]
        if not isinstance(value, bool):
            raise self._wrong(key, value, "true or false")
        return value

    def choice(self, key: str, kind: type[StrEnum], default: Any = None) -> Any:
        """A member of `kind` by its value (`default` as given when the key is absent)."""
        value = self.word(key, [str(member) for member in kind], default)
        return kind(value) if key in self.data else value

    def word(self, key: str, choices: Sequence[str], default: Any = None) -> Any:
        """A string from a fixed list that has no enum of its own."""
        expected = f"one of {quoted_list(choices)}"
        if key not in self.data:
            return self._absent(key, default, expected)
        value = self.data[key]
        if not isinstance(value, str):
            raise self._wrong(key, value, expected)
        if value not in choices:
            raise self.error(key, f'got "{value}"{suggestion(value, choices)}', expected)
        return value

    def table(self, key: str, *, expected: str = "a table") -> Section | None:
        """The sub-table at `key`, None when absent."""
        if key not in self.data:
            return None
        value = self.data[key]
        if not isinstance(value, dict):
            raise self._wrong(key, value, expected)
        return Section(self.source, value, self.at(key))

    def distinct_integers(
        self,
        key: str,
        *,
        low: int,
        expected: str,
        twice: str,
        show: Callable[[object], str] = describe,
    ) -> tuple[int, ...]:
        """The array at `key` (present): not empty, each an integer >= `low`, none twice
        (`twice` says so). `show` writes a wrong item in the message."""
        value = self.data[key]
        if not isinstance(value, list) or not value:
            shown = "an empty array" if value == [] else describe(value)
            raise self.error(key, f"got {shown}", expected)
        for index, item in enumerate(value, start=1):
            if not isinstance(item, int) or isinstance(item, bool) or item < low:
                raise self.source.error((*self.at(key), index), f"got {show(item)}", expected)
        if len(set(value)) != len(value):
            raise self.error(key, twice, expected)
        return tuple(value)

    def scalar_map(self, key: str, *, what: str) -> dict[str, str] | None:
        """A table of strings, integers or floats (booleans refused: "true" or "True"?),
        returned with string values."""
        section = self.table(key, expected=f"a table of {what}")
        if section is None:
            return None
        out: dict[str, str] = {}
        for name, value in section.data.items():
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise section._wrong(name, value, "a string, integer or float")
            out[name] = value if isinstance(value, str) else str(value)
        return out


def _int_expectation(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"an integer from {low} to {high}"
    if low is not None:
        return f"an integer >= {low}"
    return "an integer"
