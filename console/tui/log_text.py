"""The log pane's text without Textual: one line and where it came from, how a line is cut into
rows when the pane wraps, and where a search finds its text. Pure functions, so that wrapping
and searching are tested without a terminal and the widget only paints what these say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.cells import get_character_cell_size

from console.tui.state import stderr_line

STDERR_MARK = stderr_line("")  # how the state's tail marks a stderr line
_CONTROL = re.compile("[\u0000-\u0008\u000b-\u001f\u007f]")


@dataclass(frozen=True, slots=True)
class LogLine:
    """A line as the pane shows it: `prefix` names its source in the merged view (`[slow] `),
    `text` is the line with tabs expanded and control characters made visible."""

    text: str
    stderr: bool = False
    prefix: str = ""

    @property
    def shown(self) -> str:
        return self.prefix + self.text


def log_line(raw: str, source: str = "") -> LogLine:
    """A line of a run's tail (`ConsoleState.logs`, where stderr lines carry STDERR_MARK);
    `source` (a node's name) prefixes it in the merged view."""
    text = _CONTROL.sub("\ufffd", raw.expandtabs())
    return LogLine(text, raw.startswith(STDERR_MARK), f"[{source}] " if source else "")


def cells(text: str) -> int:
    """Terminal cells `text` takes (wide characters count two)."""
    if text.isascii():
        return len(text)
    return sum(get_character_cell_size(c) for c in text)


def wrap_spans(text: str, width: int) -> list[tuple[int, int]]:
    """The (start, end) character spans of the rows `text` takes at `width` cells: cut at the
    width, not at words (as less and vim do by default), so a search match keeps its offsets.
    An empty line is one empty row."""
    if width <= 0 or len(text) <= width and cells(text) <= width:
        return [(0, len(text))]
    if text.isascii():
        return [(i, min(i + width, len(text))) for i in range(0, len(text), width)]
    spans, start, used = [], 0, 0
    for i, char in enumerate(text):
        size = get_character_cell_size(char)
        if used + size > width and i > start:
            spans.append((start, i))
            start, used = i, 0
        used += size
    spans.append((start, len(text)))
    return spans


@dataclass(frozen=True, slots=True)
class Match:
    """One place a search found its text: line index and character span of `LogLine.shown`."""

    line: int
    start: int
    end: int


def case_sensitive(query: str) -> bool:
    """vim's smartcase: a query with a capital letter matches case, one without ignores it."""
    return query != query.lower()


def find_matches(lines: list[LogLine], query: str, first_index: int = 0) -> list[Match]:
    """Every occurrence of `query` in `lines` (numbered from `first_index`), in order."""
    if not query:
        return []
    sensitive = case_sensitive(query)
    needle = query if sensitive else query.lower()
    out: list[Match] = []
    for offset, line in enumerate(lines):
        hay = line.shown if sensitive else line.shown.lower()
        at = hay.find(needle)
        while at >= 0:
            out.append(Match(first_index + offset, at, at + len(needle)))
            at = hay.find(needle, at + len(needle))
    return out
