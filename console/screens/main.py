"""The main screen: runs table on top; nodes, the selected run's log and the live charts below.

The screen only lays widgets out and forwards selection; `ConsoleApp` feeds it from the
console state, and only while it is the screen on display.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from console.commands import main_bindings
from console.widgets.live_chart import LiveChart
from console.widgets.log_pane import LogPane
from console.widgets.nodes_panel import NodesPanel
from console.widgets.runs_table import RunsTable

NARROW_BELOW = 120  # columns


class MainScreen(Screen[None]):
    BINDINGS = main_bindings()

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="≡")
        yield Static("", id="notice", markup=False)
        with Vertical(id="top"):
            yield RunsTable(id="runs")
        with Horizontal(id="bottom"):
            yield NodesPanel(id="nodes")
            yield LogPane(id="log-pane")
            with Vertical(id="charts"):
                yield LiveChart(
                    "Throughput per node (samples/s so far)",
                    "samples/s",
                    empty="no throughput yet: start the plan (s)",
                    id="chart-throughput",
                )
                yield LiveChart(
                    "GPU utilization (%)",
                    "%",
                    empty="no GPU telemetry",
                    id="chart-gpu",
                )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.runs_table.border_title = "Runs"
        self.runs_table.focus()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < NARROW_BELOW, "-narrow")

    def on_screen_resume(self) -> None:
        # While another screen was on top, updates only went to the state: catch up now.
        self.app.call_later(self.app.sync_views)  # type: ignore[attr-defined]

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
        if event.row_key.value is not None:
            self.app.follow(event.row_key.value)  # type: ignore[attr-defined]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.app.action_details()  # type: ignore[attr-defined]
