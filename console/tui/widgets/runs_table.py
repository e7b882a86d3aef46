"""The runs table: one row per run and per parallel group (its shards under it), updated by
diff — a cell is written only when its text changed, and the table is rebuilt only when rows
are added (a plan started, a group sized its shards, a re-run).

Cells are Rich `Text`, never markup strings, so a run id or a detail with brackets prints as
it is. States carry a symbol as well as a word, so they read the same without color.

The Run column is as wide as its longest cell and stays in place while the other columns
scroll (DataTable's fixed_columns). Sorted (`N` `S` `O` `M`, console.tui.row_filter), a
group keeps its shards under it. While the user leaves the cursor alone for
`HOLD_AFTER_MOVE_S`, the table scrolls so that the live rows are on screen.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from rich.text import Text
from textual import events

from console.format import fmt_duration, fmt_num, state_cell
from console.tui.actions import table_bindings
from console.tui.row_filter import SORT_COLUMNS, filter_keys, sort_keys
from console.tui.rows import GroupRow, RunRow
from console.tui.state import ConsoleState
from console.tui.widgets.cell_cache import CellCachedDataTable
from engine.checks.regression import LOADGEN_METRIC, WALL_THROUGHPUT
from engine.fleet.specs import FLEET_NODE  # noqa: E402  (one LoadGen, many nodes)
from engine.run.plan_progress import GroupProgress

BAR_WIDTH = 8
REGRESSION_MARK = "▼"  # before a figure more than the margin below the node's previous median

HOLD_AFTER_MOVE_S = 10.0  # after the user moved the cursor, the table does not scroll itself

# (key, label, width; None: as wide as its cells). The columns a person needs at 80 columns
# come first; the Run column stays in place while the others scroll.
COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("run", "Run", None),
    ("state", "State", 11),
    ("progress", "Progress", BAR_WIDTH + 5),
    ("done", "Done/Total", 10),
    ("eta", "ETA", 6),
    # Three figures, three names: the engine's live rate while a run goes (RunProgress.rate),
    # the recorded wall throughput once it ended, and LoadGen's own metric from its summary.
    ("live", "Live/s", 7),
    ("wall", "Wall/s", 7),
    ("metric", "LoadGen", 10),
    ("valid", "Valid", 7),
    ("node", "Node", 10),
    ("bench", "Benchmark", 12),
    ("scenario", "Scenario", 12),
    ("mode", "Mode", 11),
    ("samples", "Samples", 7),
)


def progress_bar(completed: int | None, total: int | None, width: int = BAR_WIDTH) -> str:
    """A bar with half-cell resolution and the percentage; blank while the total is unknown.
    Heavy line done, light line to go: readable without color."""
    if completed is None or not total:
        return ""
    frac = max(0.0, min(1.0, completed / total))
    full, half = divmod(int(frac * width * 2), 2)
    bar = "━" * full + ("╸" if half else "")
    return f"{bar:─<{width}} {100 * frac:3.0f}%"


def _done(completed: int | None, total: int | None) -> str:
    if completed is None:
        return ""
    return f"{completed}/{'?' if total is None else total}"


def _label_nodes(label: str) -> list[str]:
    """A fleet run's nodes from its label ("one LoadGen result over a, b[, concurrency N]")."""
    _, _, rest = label.partition(" over ")
    return [n.strip() for n in rest.split(", ") if n.strip() and " " not in n.strip()]


def run_cells(row: RunRow, *, shard: bool = False) -> tuple[str, ...]:
    """The text of a run's cells, in COLUMNS order; a group's shard is indented."""
    eta = fmt_duration(row.eta_s) if row.live and row.eta_s is not None else ""
    live = fmt_num(row.rate) if row.live and row.rate is not None else ""
    wall = row.summary.wall_throughput if row.summary is not None else None
    fleet = row.node == FLEET_NODE
    fleet_block = row.summary.fleet if row.summary is not None else None
    nodes = list((fleet_block or {}).get("nodes") or ()) or _label_nodes(row.label)
    return (
        shard_name(row) if shard else (f"fleet {row.run_id}" if fleet else row.run_id),
        state_cell(row.state),
        progress_bar(row.completed, row.total) or _no_progress(row),
        _done(row.completed, row.total),
        eta,
        live,
        _flagged(row, WALL_THROUGHPUT, fmt_num(wall) if wall is not None else ""),
        _flagged(row, LOADGEN_METRIC, loadgen_metric_cell(row)),
        row.validity or "",
        "+".join(nodes) if fleet and nodes else row.node,
        row.benchmark,
        row.scenario,
        row.mode,
        _samples(row),
    )


def shard_name(row: RunRow) -> str:
    """A shard's Run cell says its node: a shard's run id is `<group id>-<node>`, so the node
    alone says which shard it is; another id is said after it."""
    derived = row.run_id == f"{row.group_id}-{row.node}"
    return f" └ {row.node}" + ("" if derived else f" ({row.run_id})")


# LoadGen's metric units, shortened for a cell; the details screen says the full name.
_UNITS = {"samples/s": "/s", "tokens/s": "tok/s", "queries/s": "q/s"}


def loadgen_metric_cell(row: RunRow) -> str:
    """LoadGen's headline figure with its unit (`41.8/s`, `960 tok/s`, `12.1 ms`)."""
    metric = row.summary.loadgen.metric if row.summary is not None else None
    if metric is None or metric.value is None:
        return ""
    unit = metric.unit or ""
    return f"{fmt_num(metric.value)}{_UNITS.get(unit, ' ' + unit if unit else '')}"


def _flagged(row: RunRow, basis: str, text: str) -> str:
    """The figure a regression was found in, marked (the details say by how much)."""
    r = row.regression
    return f"{REGRESSION_MARK}{text}" if r is not None and r.flagged and r.basis == basis else text


def _no_progress(row: RunRow) -> str:
    """Said in the Progress cell of a live run whose harness writes nothing mlconsole can
    count (the details say what would). A job waiting in a scheduler's queue shows why
    (Slurm's reason: Resources, Priority, PartitionDown, ...), live."""
    if row.state == "pending":
        return "queued: " + (row.detail.rpartition(": ")[2] or "no reason yet")
    return "no progress" if row.live and row.progress_live is False and not row.completed else ""


def _samples(row: RunRow) -> str:
    """The requested count, or `→N` when LoadGen will issue N instead (the details say why)."""
    if row.issued is not None and row.issued != row.samples:
        return f"→{row.issued}"
    return str(row.samples)


def group_cells(
    group: GroupRow,
    completed: int | None,
    total: int | None,
    validity: str | None,
    progress: GroupProgress | None = None,
) -> tuple[str, ...]:
    """A group's cells: its combined throughput comes from GroupFinished.summary; while it
    runs, the shards' sample counts add up, and its live rate (the live shards' rates added)
    and ETA (the last shard's) are the engine's GroupProgress."""
    combined = group.summary.combined_throughput if group.summary else None
    going = progress is not None and progress.live_shards > 0 and group.summary is None
    eta = progress.eta_s if going and progress is not None else None
    rate = progress.rate if going and progress is not None else None
    return (
        f"group {group.name}",
        state_cell(group.state),
        progress_bar(completed, total),
        _done(completed, total),
        fmt_duration(eta) if eta is not None else "",
        fmt_num(rate) if rate is not None else "",
        fmt_num(combined) if combined is not None else "",
        _sum_metric(group),
        validity or "",
        "+".join(group.nodes),
        group.benchmark,
        group.scenario,
        group.mode,
        str(group.total_samples),
    )


def _sum_metric(group: GroupRow) -> str:
    m = group.summary.sum_loadgen_metric if group.summary else None
    if m is None or m.value is None:
        return ""
    return f"Σ{fmt_num(m.value)}{_UNITS.get(m.unit or '', ' ' + (m.unit or ''))}".rstrip()


# A state's look in the Run and State cells, keyed by its symbol (console.format.STATE_CELLS):
# failures and trouble stand out in color, and the symbol says the same without it.
_STATE_STYLES = {"✗": "bold red", "‖": "bold yellow", "⚡": "bold yellow", "⊘": "dim"}
_STYLED_COLUMNS = ("run", "state")


def cell_text(column: str, text: str, state_text: str) -> Text:
    """A cell as Rich Text (never markup); the Run and State cells carry the state's style,
    a figure marked as a regression stands out too."""
    style = _STATE_STYLES.get(state_text[:1], "") if column in _STYLED_COLUMNS else ""
    if text.startswith(REGRESSION_MARK):
        style = "bold red"
    return Text(text, style=style)


def _live(state: ConsoleState, key: str) -> bool:
    if key in state.groups:
        return state.groups[key].state == "running"
    return key in state.runs and state.runs[key].live


class RunsTable(CellCachedDataTable):
    """Keyed rows: a run's key is its run id, a group's its group id. vim's keys move the
    cursor (j k, g G, ctrl+d ctrl+u; console.tui.actions, scope "table")."""

    BINDINGS = table_bindings()

    def __init__(self, clock: Callable[[], float] = time.monotonic, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, fixed_columns=1, **kwargs)  # type: ignore[arg-type]
        self._cells: dict[str, tuple[str, ...]] = {}
        self._keys: list[str] = []
        self.filter_text = ""  # the `/` filter (console.tui.row_filter); blank: every row
        self.sort_column: str | None = None  # a key of SORT_COLUMNS; None: the plan's order
        self.sort_reverse = False
        self.clock = clock
        self._moved_at: float | None = None  # when the user last moved the cursor

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, width=width, key=key)
        self.update_title()

    # --- title, sort, filter --------------------------------------------------------------

    def update_title(self) -> None:
        """`Runs`, then the filter and the sort when there are."""
        title = "Runs"
        if self.filter_text.strip():
            title += f" — filter: {self.filter_text}"
        if self.sort_column is not None:
            arrow = "↓" if self.sort_reverse else "↑"
            title += f" — sorted by {SORT_COLUMNS[self.sort_column]} {arrow}"
        self.border_title = title

    def sort_by(self, column: str, state: ConsoleState) -> None:
        """k9s: a column's key sorts by it, the same key again reverses. Names, states and
        nodes go up first; the LoadGen metric highest first."""
        if self.sort_column == column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, column == "metric"
        self._user_moved()
        self.update_title()
        self.sync(state)

    def set_filter(self, text: str, state: ConsoleState) -> None:
        self._user_moved()
        self.filter_text = text
        self.update_title()
        self.sync(state)

    # --- the cursor: vim's keys, and who moved it last --------------------------------------

    def _user_moved(self) -> None:
        self._moved_at = self.clock()

    def _holding(self) -> bool:
        """Whether the user moved the cursor (or sorted, or filtered) in the last
        HOLD_AFTER_MOVE_S: then the table does not scroll by itself."""
        return self._moved_at is not None and self.clock() - self._moved_at < HOLD_AFTER_MOVE_S

    def on_click(self, event: events.Click) -> None:
        self._user_moved()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._user_moved()  # the wheel: the user is looking at other rows

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._user_moved()

    def action_cursor_down(self) -> None:
        self._user_moved()
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        self._user_moved()
        super().action_cursor_up()

    def action_page_down(self) -> None:
        self._user_moved()
        super().action_page_down()

    def action_page_up(self) -> None:
        self._user_moved()
        super().action_page_up()

    def action_scroll_top(self) -> None:
        """g: the first row, in view (the cursor may be on it already, the view elsewhere:
        keep_live_in_view scrolls without moving the cursor)."""
        self._user_moved()
        super().action_scroll_top()
        self.scroll_to(y=0, animate=False)

    def action_scroll_bottom(self) -> None:
        self._user_moved()
        super().action_scroll_bottom()
        self.scroll_to(y=self.max_scroll_y, animate=False)

    def action_half_page(self, direction: int) -> None:
        """vim's ctrl+d (1) and ctrl+u (-1): the cursor half a page down or up."""
        self._user_moved()
        if not self.row_count:
            return
        rows = max(1, (self.scrollable_content_region.height - self.header_height) // 2)
        row = max(0, min(self.row_count - 1, self.cursor_row + direction * rows))
        self.move_cursor(row=row, animate=False)

    def keep_live_in_view(self, state: ConsoleState) -> None:
        """Scroll so that the live rows are on screen (the first of them at least), unless
        the user moved the cursor in the last HOLD_AFTER_MOVE_S: then the table stays put."""
        if self._holding():
            return
        live = [i for i, k in enumerate(self._keys) if _live(state, k)]
        height = self.scrollable_content_region.height - self.header_height
        if not live or height <= 0:
            return
        top = int(self.scroll_y)
        first, last = live[0], live[-1]
        if first >= top and last < top + height:
            return  # all on screen already
        target = max(0, first if last - first >= height or first < top else last - height + 1)
        if target != top:
            self.scroll_to(y=target, animate=False, immediate=True)

    @property
    def selected_key(self) -> str | None:
        if not self._keys or self.cursor_row < 0 or self.cursor_row >= len(self._keys):
            return None
        return self._keys[self.cursor_row]

    def cells_for(self, state: ConsoleState, key: str) -> tuple[str, ...]:
        if key in state.groups:
            g = state.groups[key]
            return group_cells(
                g, *state.group_progress(g), state.group_validity(g), state.progress.group(key)
            )
        row = state.runs[key]
        group = state.groups.get(row.group_id or "")
        return run_cells(row, shard=group is not None and key in group.shards)

    def sync(self, state: ConsoleState, keys: Sequence[str] | None = None) -> None:
        """Bring the table up to `state`. `keys` limits the check to those rows (None: all)."""
        keys_in_order = sort_keys(state, state.table_keys(), self.sort_column, self.sort_reverse)
        order = filter_keys(state, keys_in_order, self.filter_text)
        if order != self._keys:
            self._rebuild(state, order)
        else:
            self._update(state, order if keys is None else keys)
        self.keep_live_in_view(state)

    def _update(self, state: ConsoleState, keys: Sequence[str]) -> None:
        for key in keys:
            if key not in self._cells:
                continue
            cells = self.cells_for(state, key)
            old = self._cells[key]
            if cells == old:
                continue
            for (col, _, _), new, was in zip(COLUMNS, cells, old, strict=True):
                if new != was or (col in _STYLED_COLUMNS and cells[1] != old[1]):
                    self.update_cell(key, col, cell_text(col, new, cells[1]))
            self._cells[key] = cells

    def _rebuild(self, state: ConsoleState, order: list[str]) -> None:
        selected = self.selected_key
        self.clear()
        self._cells = {key: self.cells_for(state, key) for key in order}
        self._keys = list(order)
        for key in order:
            cells = self._cells[key]
            self.add_row(
                *(
                    cell_text(col, c, cells[1])
                    for (col, _, _), c in zip(COLUMNS, cells, strict=True)
                ),
                key=key,
            )
        if selected in self._cells:
            # The cursor stays on its row; in view when the user put it there (a sort or a
            # filter moves rows), else keep_live_in_view decides what is on screen.
            self.move_cursor(row=order.index(selected), animate=False, scroll=self._holding())
