"""`H`: every recorded run of the config's results dir across days, grouped by node, benchmark,
scenario and mode, each judged against its node's previous median (the engine's
`engine.analysis.history`, read in a worker thread; `mlconsole history` shows the same rows
with the same cells). `r` keeps the flagged runs only; `space` marks a run (as k9s marks)
and `c` compares the marked run with the cursor's (`mlconsole compare`'s text); `esc` or `q`
goes back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from console.history_cli import history_cells, history_header
from engine import units

MARK = "● "  # before the node of the run `space` marked for comparison
# history_cli's cells, the verdict near the left so that it shows at 80 columns too.
COLUMNS = (
    "Node",
    "Start (UTC)",
    "vs previous median",
    "LoadGen metric",
    "Wall throughput",
    "Judged by",
    "State",
    "Run dir",
    "Benchmark",
    "Scenario",
    "Mode",
)


class HistoryScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back", show=True),
        Binding("r", "regressions_only", "Regressions only", show=True),
        Binding("space", "mark", "Mark", show=True, tooltip="Mark the run to compare"),
        Binding("c", "compare", "Compare", show=True, tooltip="Compare the marked run with this"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    class Loaded(Message):
        """The worker's result: the history, or why there is none."""

        def __init__(self, history: Any, reason: str) -> None:
            super().__init__()
            self.history = history
            self.reason = reason

    class Compared(Message):
        """Two runs side by side (`engine.analysis.compare`), as lines; or why not."""

        def __init__(self, title: str, lines: list[str]) -> None:
            super().__init__()
            self.title = title
            self.lines = lines

    def __init__(self, results_dir: str, margin: float) -> None:
        super().__init__()
        self.results_dir = results_dir
        self.margin = margin
        self.history: Any = None
        self.flagged_only = False
        self.marked: str | None = None  # the run dir path `space` marked

    def compose(self) -> ComposeResult:
        with Vertical(id="history"):
            yield Static(
                f"history of {self.results_dir}: reading…", id="history-title", markup=False
            )
            yield DataTable(id="history-table", cursor_type="row", zebra_stripes=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(name, key=name)
        self._load()

    @work(thread=True, exit_on_error=False)
    def _load(self) -> None:
        if not Path(self.results_dir).is_dir():
            self.post_message(self.Loaded(None, f"no results dir {self.results_dir} yet"))
            return
        from engine.analysis.history import load_history

        source = "the config's settings.regression_margin"
        self.post_message(
            self.Loaded(load_history([self.results_dir], self.margin, source=source), "")
        )

    def on_history_screen_loaded(self, message: Loaded) -> None:
        message.stop()
        self.history = message.history
        if self.history is None:
            self.query_one("#history-title", Static).update(message.reason)
            return
        self._fill()

    def _fill(self) -> None:
        h = self.history
        title = history_header(h)[0] + f"; margin {units.num(h.margin * 100, 3)}% ("
        title += f"{h.margin_source}); " + (
            "r: all runs" if self.flagged_only else "r: regressions only"
        )
        self.query_one("#history-title", Static).update(title)
        table = self.query_one(DataTable)
        table.clear()
        frame = h.flagged if self.flagged_only else h.runs
        for row in frame.to_dicts():
            cells = screen_cells(row)
            if str(row["path"]) == self.marked:
                cells[0] = f"{MARK}{cells[0]}"
            style = "bold red" if row["regression"] else ""
            table.add_row(*(Text(c, style=style) for c in cells), key=str(row["path"]))

    def action_regressions_only(self) -> None:
        self.flagged_only = not self.flagged_only
        if self.history is not None:
            self._fill()

    def _cursor_path(self) -> str | None:
        table = self.query_one(DataTable)
        if self.history is None or table.row_count == 0:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def action_mark(self) -> None:
        path = self._cursor_path()
        if path is not None:
            self.marked = None if self.marked == path else path
            row = self.query_one(DataTable).cursor_row
            self._fill()
            self.query_one(DataTable).move_cursor(row=row, animate=False)

    def action_compare(self) -> None:
        path = self._cursor_path()
        if path is None:
            return
        if self.marked is None or self.marked == path:
            self.notify("mark a run with space first, then move to the other", markup=False)
            return
        self._compare(self.marked, path)

    @work(thread=True, exit_on_error=False)
    def _compare(self, a: str, b: str) -> None:
        from console.history_cli import run_compare_lines
        from engine.analysis.compare import compare_runs, find_run
        from engine.errors import MlconsoleError

        try:
            lines = run_compare_lines(compare_runs(find_run(a, []), find_run(b, [])))
        except MlconsoleError as exc:
            lines = [str(exc)]
        self.post_message(
            self.Compared(f"compare {Path(a).name} (A) with {Path(b).name} (B)", lines)
        )

    def on_history_screen_compared(self, message: Compared) -> None:
        message.stop()
        from console.tui.screens.run_details import RunDetailsScreen

        self.app.push_screen(RunDetailsScreen(message.title, "\n".join(message.lines)))

    def action_cursor_down(self) -> None:
        self.query_one(DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(DataTable).action_cursor_up()


def screen_cells(row: dict[str, Any]) -> list[str]:
    """A history row as the screen shows it: `history`'s cells, reordered (COLUMNS)."""
    start, run_dir, state, metric, wall, basis, verdict = history_cells(row)
    keys = [str(row[k]) for k in ("benchmark", "scenario", "mode")]
    return [str(row["node"]), start, verdict, metric, wall, basis, state, run_dir, *keys]
