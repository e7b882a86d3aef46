"""The log's lines on screen: cut at the pane's edge (scroll sideways) or wrapped, with a search's
matches highlighted. It is told its lines (`write`, `replace`) and paints them; what a line is,
where it wraps and where a search matches are `console.tui.log_text`'s.

Only visible rows are rendered, from a cache keyed by the line and the look (search, theme), so
a pane that follows 16 busy runs costs a few rows a batch, as Textual's own `Log` does. The
`Log` could not wrap nor highlight a match, hence this widget.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from console.tui.log_text import LogLine, Match, cells, find_matches, wrap_spans

SLACK = 0.1  # lines beyond max_lines kept before the oldest are dropped, as a share of max_lines


class LogView(ScrollView, can_focus=True):
    """At most `max_lines` lines (the oldest go first). `wrap` off: one row per line and the
    view scrolls sideways; on: a line takes as many rows as its width needs."""

    COMPONENT_CLASSES = {
        "log-view--prefix",
        "log-view--stderr",
        "log-view--match",
        "log-view--match-current",
    }
    BINDINGS = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("g", "scroll_home", "Top", show=False),
    ]

    def __init__(self, max_lines: int, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.max_lines = max_lines
        self.lines: list[LogLine] = []
        self.wrap = False
        self.query_text = ""
        self.matches: list[Match] = []
        self.current: int | None = None  # index into matches
        self._by_line: dict[int, list[int]] = {}  # line -> indexes into matches
        self._rows: list[tuple[int, int, int]] = []  # wrap on: (line, start, end) per row
        self._first_row: list[int] = []  # wrap on: each line's first row
        self._wrap_width = 0
        self._max_cells = 0
        self._look = 0  # bumped when the look of any row changes (search, theme)
        self._cache: LRUCache[tuple[int, int, int], Strip] = LRUCache(1024)
        self._dropped = 0  # lines dropped so far: cache keys use absolute line numbers

    # --- what it is told --------------------------------------------------------------------

    @property
    def line_count(self) -> int:
        return len(self.lines)

    @property
    def row_count(self) -> int:
        return len(self._rows) if self.wrap else len(self.lines)

    def replace(self, lines: Iterable[LogLine]) -> None:
        """Show `lines` instead of what it showed (another run, another filter)."""
        self.lines = []
        self._rows, self._first_row = [], []
        self._dropped = 0
        self._max_cells = 0
        self._cache.clear()
        self._look += 1
        self._write(list(lines))

    def write(self, lines: Iterable[LogLine]) -> None:
        """Lines at the end (the view does not move: following is the pane's business)."""
        self._write(list(lines))

    def set_wrap(self, wrap: bool) -> None:
        """Wrap or cut; the line at the top of the view stays at the top."""
        row = int(self.scroll_y)
        top = (self._rows[row][0] if row < len(self._rows) else 0) if self.wrap else row
        self.wrap = wrap
        self.set_class(wrap, "-wrap")
        self._cache.clear()
        self._relayout()
        if top < len(self.lines):
            self.scroll_to(x=0, y=self.row_of(top), animate=False, immediate=True)

    def search(self, query: str) -> int:
        """Highlight every occurrence of `query` (smartcase); returns how many. The current
        match is the newest one, as a search from the end of a log (less's `?`) finds first."""
        self.query_text = query
        self.matches = find_matches(self.lines, query)
        self._index_matches()
        self.current = len(self.matches) - 1 if self.matches else None
        self._look += 1
        self.refresh()
        return len(self.matches)

    def step(self, by: int) -> Match | None:
        """Make the next (`by` 1) or previous (-1) match current, wrapping around, and scroll
        it into view."""
        if not self.matches:
            return None
        start = self.current if self.current is not None else (-1 if by > 0 else 0)
        self.current = (start + by) % len(self.matches)
        self._look += 1
        self.refresh()
        return self.show_match()

    def show_match(self) -> Match | None:
        """Scroll so that the current match is in the middle of the view."""
        if self.current is None:
            return None
        m = self.matches[self.current]
        row = self.row_of(m.line, m.start)
        x = self.scroll_x
        if not self.wrap:
            right = cells(self.lines[m.line].shown[: m.end])
            if m.start < self.scroll_x or right > self.scroll_x + self.size.width:
                x = max(0, m.start - 8)
        self.scroll_to(x=x, y=max(0, row - self.size.height // 2), animate=False, immediate=True)
        return m

    def row_of(self, line: int, char: int = 0) -> int:
        """The row that holds character `char` of line `line`."""
        if not self.wrap:
            return line
        row = self._first_row[line]
        while row + 1 < len(self._rows) and self._rows[row + 1][0] == line:
            if self._rows[row + 1][1] > char:
                break
            row += 1
        return row

    def rows_text(self) -> list[str]:
        """Every row's text as painted (tests and the screen's own checks read it)."""
        if not self.wrap:
            return [line.shown for line in self.lines]
        return [self.lines[i].shown[s:e] for i, s, e in self._rows]

    # --- inside -------------------------------------------------------------------------------

    def _write(self, new: list[LogLine]) -> None:
        first = len(self.lines)
        self.lines.extend(new)
        if new:
            self._max_cells = max(self._max_cells, max(cells(x.shown) for x in new))
        if self.query_text:
            found = find_matches(new, self.query_text, first)
            base = len(self.matches)
            self.matches.extend(found)
            for i, m in enumerate(found):
                self._by_line.setdefault(m.line, []).append(base + i)
        if len(self.lines) > self.max_lines * (1 + SLACK):
            self._drop(len(self.lines) - self.max_lines)
        elif self.wrap:
            self._wrap_lines(first)
        self._set_virtual_size()

    def _drop(self, count: int) -> None:
        del self.lines[:count]
        self._dropped += count
        kept = [Match(m.line - count, m.start, m.end) for m in self.matches if m.line >= count]
        if self.current is not None:
            self.current = max(0, self.current - (len(self.matches) - len(kept)))
        self.matches = kept
        if not kept:
            self.current = None
        self._index_matches()
        self._relayout()

    def _index_matches(self) -> None:
        self._by_line = {}
        for i, m in enumerate(self.matches):
            self._by_line.setdefault(m.line, []).append(i)

    def _relayout(self) -> None:
        self._rows, self._first_row = [], []
        if self.wrap:
            self._wrap_width = self.scrollable_content_region.width
            self._wrap_lines(0)
        self._set_virtual_size()
        self.refresh()

    def _wrap_lines(self, first: int) -> None:
        for i in range(first, len(self.lines)):
            self._first_row.append(len(self._rows))
            spans = wrap_spans(self.lines[i].shown, self._wrap_width)
            self._rows.extend((i, s, e) for s, e in spans)

    def _set_virtual_size(self) -> None:
        if self.wrap:
            size = Size(self._wrap_width, len(self._rows))
        else:
            size = Size(self._max_cells, len(self.lines))
        styles = self.styles
        if size != self.virtual_size and styles.overflow_y == "scroll" and (
            styles.overflow_x in ("scroll", "hidden")
        ):
            # The scrollbars are there whatever the size (themes/base.tcss), so a longer log
            # moves no widget: setting `virtual_size` would lay out the whole screen (a
            # layout reactive) on every batch of lines; the scrollbars are told instead.
            self.set_reactive(Widget.virtual_size, size)
            self._scroll_update(size)
        else:
            self.virtual_size = size
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        if self.wrap and self.scrollable_content_region.width != self._wrap_width:
            self._cache.clear()
            self._relayout()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        width = self.size.width
        style = self.rich_style
        if row >= self.row_count:
            return Strip.blank(width, style)
        line, start, end = self._rows[row] if self.wrap else (row, 0, -1)
        key = (line + self._dropped, start, self._look)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._render_row(line, start, end)
            self._cache[key] = strip
        x = 0 if self.wrap else scroll_x
        # Offsets as Textual's own Log records them (where each cell came from), so that the
        # screen paints, and compares in snapshots, alike.
        return strip.crop_extend(x, x + width, style).apply_offsets(x, row)

    def _render_row(self, index: int, start: int, end: int) -> Strip:
        line = self.lines[index]
        shown = line.shown
        end = len(shown) if end < 0 else end
        text = Text(shown[start:end], no_wrap=True, end="")
        text.stylize(self.rich_style)  # (Text's own style= is not rendered into segments)
        cut = len(line.prefix) - start
        if cut > 0:
            text.stylize(self.get_component_rich_style("log-view--prefix"), 0, cut)
        if line.stderr:
            text.stylize(self.get_component_rich_style("log-view--stderr"), max(0, cut))
        for i in self._by_line.get(index, ()):
            m = self.matches[i]
            if m.end <= start or m.start >= end:
                continue
            name = "log-view--match-current" if i == self.current else "log-view--match"
            text.stylize(
                self.get_component_rich_style(name), max(0, m.start - start), m.end - start
            )
        return Strip(text.render(self.app.console), text.cell_len)
