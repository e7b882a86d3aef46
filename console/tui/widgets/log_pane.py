"""The log pane: the selected run's stdout and stderr, followed live.

A `Log` (plain strings, rendered lazily per visible line) with a cap on its lines; new lines
arrive in one `write_lines` per flush. When the run ends, the LoadGen summary is appended.

Following is the pane's own state (`follow`, toggled with `f`, said in the border), not the
Log's "am I at the bottom" test: that test fails after a resize or a switch to another run
(the scroll position is from the old size), and the pane then silently stopped following.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Log

MAX_LINES = 2000


class LogPane(Vertical):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.run_id: str | None = None
        self.follow = True
        self.border_title = "Log"
        self._note = ""
        self._subtitle()

    def compose(self) -> ComposeResult:
        yield Log(max_lines=MAX_LINES, auto_scroll=False, id="log")

    @property
    def log_widget(self) -> Log:
        return self.query_one(Log)

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
        self.border_title = f"Log — {run_id}" if run_id else "Log"
        self._note = note
        self._subtitle()
        log = self.log_widget
        log.clear()
        lines = list(lines)
        if lines:
            log.write_lines(lines)
        elif run_id:
            log.write_line("(no output yet)")
        else:
            log.write_line("select a run to follow its log")
        if run_id and summary is not None:
            self.append_summary(run_id, *summary)
        self._to_end()

    def append(self, run_id: str, lines: list[str]) -> None:
        if run_id == self.run_id and lines:
            log = self.log_widget
            if log.line_count == 1 and log.lines[0] == "(no output yet)":
                log.clear()
            log.write_lines(lines)
            self._to_end()

    def append_summary(self, run_id: str, title: str, text: str) -> None:
        """The LoadGen summary below the run's own output."""
        if run_id == self.run_id:
            self.log_widget.write_lines(["", f"── {title} ──", *text.splitlines()])
            self._to_end()

    def toggle_follow(self) -> bool:
        """`f`: pause (the view stays where it is while lines arrive) or follow again."""
        self.follow = not self.follow
        self._subtitle()
        self._to_end()
        return self.follow

    def on_resize(self) -> None:
        self._to_end()

    def _to_end(self) -> None:
        if self.follow:
            log = self.log_widget
            log.scroll_end(animate=False, immediate=True, x_axis=False)
            # Once more after the next layout: the size a resize brings is known only then.
            self.call_after_refresh(log.scroll_end, animate=False, x_axis=False)

    def _subtitle(self) -> None:
        state = "▼ following (f pauses)" if self.follow else "‖ paused (f follows)"
        self.border_subtitle = f"{self._note} · {state}" if self._note else state
