"""The log pane: the selected run's stdout and stderr, followed live.

A `Log` (plain strings, rendered lazily per visible line) with a cap on its lines; new lines
arrive in one `write_lines` per flush. When the run ends, the LoadGen summary is appended.
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
        self.border_title = "Log"

    def compose(self) -> ComposeResult:
        yield Log(max_lines=MAX_LINES, auto_scroll=True, id="log")

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
        self.border_subtitle = note
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

    def append(self, run_id: str, lines: list[str]) -> None:
        if run_id == self.run_id and lines:
            log = self.log_widget
            if log.line_count == 1 and log.lines[0] == "(no output yet)":
                log.clear()
            log.write_lines(lines)

    def append_summary(self, run_id: str, title: str, text: str) -> None:
        """The LoadGen summary below the run's own output."""
        if run_id == self.run_id:
            self.log_widget.write_lines(["", f"── {title} ──", *text.splitlines()])
