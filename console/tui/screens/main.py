"""The main screen: runs table on top; nodes, the selected run's log and the live charts below.

It repaints itself from the console state when the app tells it what changed (a
`StateChanged` message) — and only while it is on display: what the batches changed is gathered
(the shown log's new lines, the table's rows, the node cards, the notice bar) and painted
together, at most once every `table_interval_s` (one screen update a second while runs stream,
not one per batch and another for the table), at once when a run ends or rows are added;
charts on its own chart tick. Hidden, it marks itself stale and repaints everything when it
returns. What it wants from the app it asks by message
(`DetailsRequested`), as the app tells it things by message: neither touches the other's
attributes.

Past the ~450-line guide: the layout switches (narrow, zoomed log, dense nodes) and the
repaint scheduling of the four panels depend on each other and are kept in one place; each
panel's own drawing is its widget's.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static
from textual.widgets.data_table import RowDoesNotExist

from console.tui.actions import main_bindings
from console.tui.messages import (
    LogCommand,
    LogSummary,
    OpenFilter,
    RepaintAll,
    SortRuns,
    StateChanged,
    ToggleDenseNodes,
    ToggleFollow,
    ToggleSide,
)
from console.tui.rows import Changes
from console.tui.state import ConsoleState
from console.tui.widgets.live_chart import LiveChart
from console.tui.widgets.log_pane import LogPane
from console.tui.widgets.nodes_panel import NodesPanel
from console.tui.widgets.runs_table import RunsTable

NARROW_BELOW = 120  # columns


class MainScreen(Screen[None]):
    """`summaries` (run id -> (title, text) shown below a finished run's log) is the app's,
    shared."""

    BINDINGS = main_bindings()

    class DetailsRequested(Message):
        """The user asked for the details of the run or group `key` (enter on a row)."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    class PagerRequested(Message):
        """`o`: the user asked to read `path` (the shown run's stdout.log or stderr.log) in
        the pager; the app suspends itself for it."""

        def __init__(self, path: Path) -> None:
            super().__init__()
            self.path = path

    def __init__(
        self,
        state: ConsoleState,
        summaries: Mapping[str, tuple[str, str]],
        config_source: str,
        table_interval_s: float,
        chart_interval_s: float = 1.0,
    ) -> None:
        super().__init__(id="main")
        self.state = state
        self.summaries = summaries
        self.config_source = config_source
        self.table_interval_s = table_interval_s
        self.chart_interval_s = chart_interval_s
        self.stale = True
        self.charts_dirty = True
        self._last_rows_paint = 0.0
        self._rows_timer: Any = None
        self._dirty_rows: set[str] = set()
        self._dirty_nodes: set[str] = set()
        self._rows_added = False
        # The shown log's lines not painted yet (the pane's run, or the merged view's
        # entries): dropped when the pane shows another log (it reads the state then).
        self._pending_lines: list[str] = []
        self._pending_merged: list[tuple[str, str]] = []
        self._live_wanted = False  # F: the shown run ended; move to the next live one
        self._notice_text: str | None = None
        self._chart_focus: str | None = None  # the node the charts last followed
        self._charts_at = 0.0  # when the charts were last built (time.monotonic)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="≡")
        yield Static("", id="notice", markup=False)
        with Vertical(id="top"):
            yield Input(
                placeholder="filter: text, state:failed, node:NAME (enter keeps, esc clears)",
                id="filter",
            )
            yield RunsTable(id="runs")
        with Horizontal(id="bottom"):
            yield NodesPanel(id="nodes")
            yield LogPane(id="log-pane")
            with Vertical(id="charts"):
                yield LiveChart(
                    "Live rate per node (samples/s, engine)",
                    "samples/s",
                    empty="no throughput yet: start the plan (s)",
                    rank_by="live rate",
                    id="chart-throughput",
                )
                yield LiveChart(
                    "GPU utilization (%)",
                    "%",
                    empty="no GPU telemetry",
                    rank_by="utilization",
                    id="chart-gpu",
                )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.runs_table.focus()
        self.set_interval(self.chart_interval_s, self._chart_timer)

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < NARROW_BELOW, "-narrow")

    def on_screen_resume(self) -> None:
        # While another screen was on top, updates only went to the state: catch up now.
        self.call_later(self.sync)

    @property
    def runs_table(self) -> RunsTable:
        return self.query_one(RunsTable)

    @property
    def nodes_panel(self) -> NodesPanel:
        return self.query_one(NodesPanel)

    @property
    def log_pane(self) -> LogPane:
        return self.query_one(LogPane)

    @property
    def charts(self) -> tuple[LiveChart, LiveChart]:
        return self.query_one("#chart-throughput", LiveChart), self.query_one(
            "#chart-gpu", LiveChart
        )

    @property
    def notice(self) -> Static:
        return self.query_one("#notice", Static)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        self.charts_dirty |= self.cursor_node() != self._chart_focus  # charts follow it
        pane = self.log_pane
        if key is not None and pane.run_id != key and not pane.merged:
            self._live_wanted = False  # the user picked a run: F leaves it there
            self.show_log(key)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.DetailsRequested(event.row_key.value))

    @property
    def selected_key(self) -> str | None:
        return self.runs_table.selected_key

    def cursor_node(self) -> str | None:
        """The node of the cursor's run (a group row: none), which the charts follow when
        they have more series than they draw."""
        row = self.state.runs.get(self.selected_key or "")
        return row.node if row is not None else None

    # --- what the app tells it ------------------------------------------------------------

    @on(StateChanged)
    def _state_changed(self, message: StateChanged) -> None:
        changes = message.changes
        if self.app.screen is not self:  # another screen (or a dialog) is on top
            self.stale = True
            self._note_end(changes)
            self.charts_dirty |= changes.chart
        elif self.stale:
            self.sync()
        else:
            self.paint(changes)

    @on(RepaintAll)
    def _repaint_all(self) -> None:
        self.sync()

    @on(LogSummary)
    def _log_summary(self, message: LogSummary) -> None:
        if self.app.screen is self:
            self._paint_log()  # the run's last lines before its summary
            self.log_pane.append_summary(message.run_id, message.title, message.text)
        # Hidden: `summaries` holds it, and the sync on return shows it.

    @on(ToggleSide)
    def _toggle_side(self) -> None:
        self.toggle_side()

    @on(ToggleDenseNodes)
    def _toggle_dense(self) -> None:
        self.toggle_dense_nodes()

    @on(ToggleFollow)
    def _toggle_follow(self) -> None:
        following = self.log_pane.toggle_follow()
        self.notify("log: following" if following else "log: paused", timeout=2)

    # --- keys that act on the log ------------------------------------------------------------

    @on(LogCommand)
    def _log_command(self, message: LogCommand) -> None:
        pane = self.log_pane
        match message.what:
            case "wrap":
                said = "log: long lines wrapped" if pane.toggle_wrap() else "log: long lines cut"
            case "stderr":
                said = "log: stderr only" if pane.toggle_stderr() else "log: every line"
            case "zoom":
                said = "log: full screen (z: back)" if self.toggle_zoom() else ""
            case "merged":
                said = (
                    "log: every live run and service" if self.toggle_merged()
                    else "log: the selected run"
                )
            case "follow_live":
                pane.set_follow_live(not pane.follow_live)
                said = (
                    "log: follows whatever is live" if pane.follow_live
                    else "log: stays on the shown run"
                )
                shown = self.state.runs.get(pane.run_id or "")
                self._live_wanted = pane.follow_live and not (shown and shown.live)
                self.follow_live()
            case "pager":
                said = self.request_pager()
            case "search":
                pane.log_widget.focus()
                pane.action_search()
                said = ""
            case _:
                said = ""
        if said:
            self.notify(said, timeout=2, markup=False)

    def toggle_zoom(self) -> bool:
        """`z` (tmux's zoom): the log alone between the header and the footer, with the focus,
        so that its own keys work; again: the panels back, the focus on the table."""
        zoomed = not self.has_class("-zoom-log")
        self.set_class(zoomed, "-zoom-log")
        if zoomed and self.nodes_panel.dense:
            self.nodes_panel.set_dense(False)
            self.remove_class("-dense-nodes")
        if zoomed:
            self.log_pane.log_widget.focus()
        else:
            self.runs_table.focus()
        return zoomed

    def toggle_dense_nodes(self) -> bool:
        """`d`: the nodes' dense view over the screen (the focus in it, so that it scrolls);
        again: the cards and the panels back, the focus on the table."""
        dense = not self.nodes_panel.dense
        self.remove_class("-zoom-log")
        self.set_class(dense, "-dense-nodes")
        self.nodes_panel.set_dense(dense)
        if dense:
            self.nodes_panel.focus()
        else:
            self.runs_table.focus()
        return dense

    def toggle_merged(self) -> bool:
        pane = self.log_pane
        if pane.merged:
            pane.merged = False
            self.show_log(self.runs_table.selected_key)
        else:
            self._show_merged()
        return pane.merged

    def follow_live(self) -> None:
        """With `F` on: when the shown run has ended (or was not live when F was pressed),
        the log and the table's cursor move to a live run as soon as there is one (the next
        run on the same node first, else the newest). Only then: a finished run the user
        moves the cursor to stays in the log."""
        pane = self.log_pane
        if not pane.follow_live or pane.merged or not self._live_wanted:
            return
        shown = self.state.runs.get(pane.run_id or "")
        if shown is not None and shown.live:
            self._live_wanted = False
            return
        live = [self.state.runs[k] for k in self.state.live_runs]
        if not live:
            return
        self._live_wanted = False
        same_node = [r for r in live if shown is not None and r.node == shown.node]
        target = (same_node or live)[-1].run_id
        self.show_log(target)
        table = self.runs_table
        try:
            table.move_cursor(row=table.get_row_index(target), animate=False)
        except RowDoesNotExist:  # filtered out of the table: the log follows it anyway
            pass

    def _note_end(self, changes: Changes) -> None:
        if self.log_pane.run_id in changes.finished:
            self._live_wanted = True  # F follows on from here (follow_live)

    def request_pager(self) -> str:
        """What `o` opens: the shown run's stdout.log (stderr.log with the stderr filter on);
        returns a sentence when there is none to open."""
        pane = self.log_pane
        row = self.state.runs.get(pane.run_id or "")
        if row is None:
            return "select a run to open its log in the pager (the merged view has no file)"
        if not row.run_dir:
            return f"{row.run_id} has no run dir yet"
        name = "stderr.log" if pane.stderr_only else "stdout.log"
        self.post_message(self.PagerRequested(Path(row.run_dir) / name))
        return ""

    # --- the `/` filter ---------------------------------------------------------------------

    @property
    def filter_input(self) -> Input:
        return self.query_one("#filter", Input)

    @on(OpenFilter)
    def open_filter(self) -> None:
        box = self.filter_input
        box.add_class("-open")
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.apply_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_kept(self, event: Input.Submitted) -> None:
        # The filter stays; the keys go back to the table.
        self.filter_input.set_class(bool(event.value.strip()), "-open")
        self.runs_table.focus()

    def apply_filter(self, text: str) -> None:
        self.runs_table.set_filter(text, self.state)

    @on(SortRuns)
    def _sort_runs(self, message: SortRuns) -> None:
        self.runs_table.sort_by(message.column, self.state)

    def clear_filter(self) -> bool:
        """esc: drop the filter (returns whether there was one to drop)."""
        box = self.filter_input
        had = bool(box.value) or box.has_class("-open")
        box.value = ""
        box.remove_class("-open")
        self.apply_filter("")
        self.runs_table.focus()
        return had

    def key_escape(self) -> None:
        self.clear_filter()

    # --- painting ---------------------------------------------------------------------------

    def paint(self, changes: Changes) -> None:
        """What one batch changed; the screen is on display and up to date otherwise."""
        self._dirty_rows |= changes.runs | changes.groups
        for run_id in changes.runs:
            row = self.state.runs.get(run_id)
            if row is not None and row.group_id:
                self._dirty_rows.add(row.group_id)
        self._dirty_nodes |= changes.nodes
        self._rows_added |= changes.rows_added
        self.charts_dirty |= changes.chart
        pane = self.log_pane
        if pane.merged:
            self._pending_merged.extend(changes.merged)
        elif pane.run_id in changes.logs:
            self._pending_lines.extend(changes.logs[pane.run_id])
        self._note_end(changes)
        wait = self._last_rows_paint + self.table_interval_s - time.monotonic()
        if wait <= 0 or changes.rows_added or changes.finished:
            self._paint_pending()
        elif self._rows_timer is None:
            self._rows_timer = self.set_timer(wait, self._paint_pending)

    def _paint_pending(self) -> None:
        """What the batches since the last paint changed, in one screen update."""
        self._rows_timer = None
        if not self.is_current:
            self.stale = True
            return
        self._last_rows_paint = time.monotonic()
        keys, nodes, added = self._dirty_rows, self._dirty_nodes, self._rows_added
        self._dirty_rows, self._dirty_nodes, self._rows_added = set(), set(), False
        with self.app.batch_update():
            self._paint_log()
            self.follow_live()
            self.runs_table.sync(self.state, None if added else sorted(keys))
            self.paint_notice()  # the plan's ETA moves with the runs' progress
            if nodes:
                self.nodes_panel.sync(self.state, nodes)
            if self._last_rows_paint - self._charts_at >= 0.9 * self.chart_interval_s:
                self.chart_tick()  # in the same screen update as the rows

    def _chart_timer(self) -> None:
        """The charts' own tick, for what changes them between batches (the cursor's node);
        while a paint of the batches is due, that paint builds them, in the same update."""
        if self._rows_timer is None:
            self.chart_tick()

    def _paint_log(self) -> None:
        pane = self.log_pane
        lines, merged = self._pending_lines, self._pending_merged
        self._pending_lines, self._pending_merged = [], []
        if lines and pane.run_id is not None:
            pane.append(pane.run_id, lines)
        if merged:
            pane.append_merged(merged)

    def sync(self) -> None:
        """Repaint everything from the state (on first display, after being hidden)."""
        if not self.is_mounted:
            return
        self.stale = False
        self._dirty_rows, self._dirty_nodes, self._rows_added = set(), set(), False
        with self.app.batch_update():
            self.runs_table.sync(self.state)
            self.nodes_panel.sync(self.state)
            if self.log_pane.merged:
                self._show_merged()
            else:
                self.show_log(self.log_pane.run_id or self.runs_table.selected_key)
                self.follow_live()
            self.paint_notice()
        self.charts_dirty = True
        self.chart_tick(stagger=False)

    def paint_notice(self) -> None:
        line = self.state.notice_line(self.config_source)
        if line != self._notice_text:
            self._notice_text = line
            # One row whatever it says (themes/base.tcss: height 1, nowrap): a new line
            # moves no widget, and a layout would repaint the whole screen every second.
            self.notice.update(Text(line), layout=False)
        self.notice.set_class(self.state.simulated, "-warning")

    def chart_tick(self, stagger: bool = True) -> None:
        """Rebuild the charts whose data changed, if they are on screen (on the timer: one
        after the other; on a full repaint, `stagger` False: both at once)."""
        if not self.charts_dirty or not self.is_current:
            return
        # The app's chart timer can fire before this screen's children are composed, or
        # while the app is shutting down: then there is nothing to paint yet.
        throughput = self.query_one_optional("#chart-throughput", LiveChart)
        gpu = self.query_one_optional("#chart-gpu", LiveChart)
        if throughput is None or gpu is None:
            return
        self.charts_dirty = False
        self._charts_at = time.monotonic()
        focus = self._chart_focus = self.cursor_node()
        throughput.set_series(self.state.throughput, focus=focus)
        notes = sorted(
            {f"{n.name}: {n.telemetry_note}" for n in self.state.nodes.values() if n.telemetry_note}
        )
        gpu.set_series(
            self.state.utilization, "no GPU telemetry — " + "; ".join(notes), focus=focus
        )
        shown = [c for c in (throughput, gpu) if c.display and c.region.area and c.dirty]
        if stagger and len(shown) > 1:
            # Two plotext builds in one frame stall a key press for both: the second chart
            # is built half a tick later.
            shown[0].replot()
            self.set_timer(self.chart_interval_s / 2, shown[1].replot)
            return
        for chart in shown:
            chart.replot()

    def show_log(self, key: str | None) -> None:
        """The log pane follows `key`: a run's lines so far (and its summary once it ended)."""
        pane = self.log_pane
        self._pending_lines, self._pending_merged = [], []  # the state has them all
        if key is not None and key in self.state.groups:
            g = self.state.groups[key]
            pane.show_run(None, [f"group {g.name}: select one of its shards to follow its log"])
            return
        lines = self.state.logs.get(key, ()) if key else ()
        pane.show_run(key, lines, self.summaries.get(key) if key else None)

    def _show_merged(self) -> None:
        self._pending_lines, self._pending_merged = [], []  # the state has them all
        self.log_pane.show_merged(self.state.merged_log)

    def toggle_side(self) -> None:
        self.toggle_class("-show-charts")
        self.charts_dirty = True
        self.call_after_refresh(self.chart_tick, False)
