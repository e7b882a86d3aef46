"""The log pane: one run's stdout and stderr (or every live run's, merged), followed live,
wrapped or cut, filtered to stderr, searched.

The screen tells it which lines to show (`show_run`, `show_merged`) and which arrived
(`append`, `append_merged`); it keeps them (`MAX_LINES`) so that switching the filter or the
wrap repaints without asking again. What a line is, where it wraps and what a search matches
are `console.tui.log_text`'s; `LogView` paints.

Following is the pane's own state (`follow`, toggled with `f`, said in the border), not "am I
at the bottom": that test fails after a resize or a switch to another run (the scroll
position is from the old size), and the pane then silently stopped following. A search that
jumps to a match pauses it, as in less.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input

from console.tui.actions import log_bindings
from console.tui.log_text import LogLine, log_line
from console.tui.widgets.log_view import LogView

MAX_LINES = 2000
NO_OUTPUT = "(no output yet)"


class LogPane(Vertical):
    """Keys that act on the log itself (search, n/N) are its own bindings, so they apply
    (and the footer shows them) while the log has the focus; see `console.tui.actions`."""

    BINDINGS = log_bindings()

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.run_id: str | None = None
        self.merged = False
        self.follow = True
        self.wrap = False
        self.stderr_only = False
        self.follow_live = False
        self.border_title = "Log"
        self._note = ""
        self._source: deque[LogLine] = deque(maxlen=MAX_LINES)
        self._placeholder: str | None = None  # said instead of lines (no run, no output yet)
        self._note_shown = False  # the view shows a note, not lines
        self._subtitle()

    def compose(self) -> ComposeResult:
        yield LogView(MAX_LINES, id="log")
        yield Input(
            placeholder="search the log (enter: keep, n/N move, esc clears)", id="log-search"
        )

    @property
    def log_widget(self) -> LogView:
        return self.query_one(LogView)

    @property
    def search_box(self) -> Input:
        return self.query_one("#log-search", Input)

    # --- what it is told ----------------------------------------------------------------------

    def show_run(
        self,
        run_id: str | None,
        lines: Iterable[str],
        summary: tuple[str, str] | None = None,
        note: str = "",
    ) -> None:
        """Switch to `run_id`: the lines kept for it so far, then its LoadGen summary
        (title, text) when it has ended."""
        self.run_id = run_id
        self.merged = False
        self.border_title = f"Log — {run_id}" if run_id else "Log"
        self._note = note
        self._source.clear()
        self._source.extend(log_line(x) for x in lines)
        if run_id and summary is not None:
            self._source.extend(self._summary_lines(*summary))
        self._placeholder = (
            (NO_OUTPUT if run_id else "select a run to follow its log")
            if not self._source
            else None
        )
        self._repaint()

    def show_merged(self, entries: Iterable[tuple[str, str]]) -> None:
        """Every live run's and service's lines in the order they came, each prefixed by
        its node: `entries` are (node, line) from `ConsoleState.merged_log`."""
        self.run_id = None
        self.merged = True
        self.border_title = "Log — all live runs and services"
        self._note = ""
        self._source.clear()
        self._source.extend(log_line(line, node) for node, line in entries)
        self._placeholder = "(no run or service is live)" if not self._source else None
        self._repaint()

    def append(self, run_id: str, lines: list[str]) -> None:
        if run_id == self.run_id and lines and not self.merged:
            self._add([log_line(x) for x in lines])

    def append_merged(self, entries: list[tuple[str, str]]) -> None:
        if self.merged and entries:
            self._add([log_line(line, node) for node, line in entries])

    def append_summary(self, run_id: str, title: str, text: str) -> None:
        """The LoadGen summary below the run's own output."""
        if run_id == self.run_id and not self.merged:
            self._add(self._summary_lines(title, text))

    # --- toggles --------------------------------------------------------------------------------

    def toggle_follow(self) -> bool:
        """`f`: pause (the view stays where it is while lines arrive) or follow again."""
        self.follow = not self.follow
        self._subtitle()
        self._to_end()
        return self.follow

    def toggle_wrap(self) -> bool:
        """`w`: long lines wrapped onto more rows, or cut at the pane's edge (scroll sideways)."""
        self.wrap = not self.wrap
        view = self.log_widget
        view.set_wrap(self.wrap)
        self._to_end()
        self._subtitle()
        return self.wrap

    def toggle_stderr(self) -> bool:
        """`2`: stderr lines only (file descriptor 2), or every line."""
        self.stderr_only = not self.stderr_only
        self._repaint()
        return self.stderr_only

    def set_follow_live(self, on: bool) -> None:
        self.follow_live = on
        self._subtitle()

    # --- its own keys (console.tui.actions, scope "log") ---------------------------------------

    def action_search(self) -> None:
        box = self.search_box
        box.add_class("-open")
        box.focus()

    def action_next_match(self) -> None:
        self._step(1)

    def action_previous_match(self) -> None:
        self._step(-1)

    def action_log_end(self) -> None:
        """`G`: to the end, and follow it again."""
        if not self.follow:
            self.toggle_follow()
        self._to_end()

    def action_clear_search(self) -> None:
        self.search_box.value = ""
        self.search_box.remove_class("-open")
        self._search("")
        self.log_widget.focus()

    def on_key(self, event: events.Key) -> None:
        # esc reaches the screen's own handler (it clears the runs filter and focuses the
        # table) before any binding is looked at: with a search to clear, it stops here.
        if event.key == "escape" and self.check_action("clear_search", ()):
            event.stop()
            event.prevent_default()
            self.action_clear_search()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_search":
            # esc with no search goes on to the screen (it clears the runs filter).
            return bool(self.log_widget.query_text) or self.search_box.has_class("-open")
        return True

    @on(Input.Changed, "#log-search")
    def _search_typed(self, event: Input.Changed) -> None:
        event.stop()
        self._search(event.value)

    @on(Input.Submitted, "#log-search")
    def _search_kept(self, event: Input.Submitted) -> None:
        event.stop()
        self.search_box.set_class(bool(event.value), "-open")
        self.log_widget.focus()
        if self.log_widget.current is not None:
            self._pause()
            self.log_widget.show_match()

    # --- inside ---------------------------------------------------------------------------------

    def _step(self, by: int) -> None:
        view = self.log_widget
        if not view.matches:
            self.notify(
                f"no match for {view.query_text!r}" if view.query_text else "no search: / first",
                timeout=2,
                markup=False,
            )
            return
        self._pause()
        view.step(by)
        self._subtitle()

    def _pause(self) -> None:
        if self.follow:
            self.follow = False
            self._subtitle()

    def _search(self, query: str) -> None:
        self.log_widget.search(query)
        self._subtitle()

    def _shown(self, lines: Iterable[LogLine]) -> list[LogLine]:
        return [x for x in lines if x.stderr] if self.stderr_only else list(lines)

    def _repaint(self) -> None:
        view = self.log_widget
        shown = self._shown(self._source)
        self._note_shown = self._placeholder is not None or not shown
        if self._placeholder is not None:
            shown = [LogLine(self._placeholder)]
        elif not shown:
            shown = [LogLine("(no stderr lines here; 2 shows every line)")]
        view.replace(shown)
        if view.query_text:
            view.search(view.query_text)
        self._subtitle()
        self._to_end()

    def _add(self, lines: list[LogLine]) -> None:
        self._source.extend(lines)
        shown = self._shown(lines)
        had_placeholder, self._placeholder = self._placeholder is not None, None
        if self._note_shown and (shown or had_placeholder):
            # The pane said "(no output yet)" or "(no stderr lines)": now it says what came.
            self._repaint()
            return
        if shown:
            self.log_widget.write(shown)
            if self.log_widget.query_text:
                self._subtitle()
            self._to_end()

    @staticmethod
    def _summary_lines(title: str, text: str) -> list[LogLine]:
        return [LogLine(""), LogLine(f"── {title} ──"), *(log_line(x) for x in text.splitlines())]

    def on_resize(self) -> None:
        self._to_end()

    def _to_end(self) -> None:
        if self.follow:
            log = self.log_widget
            log.scroll_end(animate=False, immediate=True, x_axis=False)
            # Once more after the next layout: the size a resize brings is known only then.
            self.call_after_refresh(log.scroll_end, animate=False, x_axis=False)

    def _subtitle(self) -> None:
        parts = [self._note] if self._note else []
        if self.wrap:
            parts.append("wrap")
        if self.stderr_only:
            parts.append("stderr only")
        if self.follow_live:
            parts.append("F: follows what is live")
        view = self.query_one_optional(LogView)
        if view is not None and view.query_text:
            found = len(view.matches)
            at = f"{view.current + 1}/{found}" if view.current is not None else f"0/{found}"
            parts.append(f"/{view.query_text} {at}")
        parts.append("▼ following (f pauses)" if self.follow else "‖ paused (f follows)")
        self.border_subtitle = " · ".join(parts)
