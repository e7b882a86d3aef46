"""A DataTable that renders a cell again only when that cell changed.

Textual's DataTable keys its cell cache on a counter that every `update_cell` bumps, so one
changed cell re-renders every visible cell of the table. With 16 runs streaming, the runs
table changes four cells per live row a second and re-rendered all ~280 visible cells: the
largest single cost of the console's CPU (bench/console_cpu.py, docs/performance.md). This
table keeps its own cache keyed by what a cell's rendering depends on — its value (by
identity: the runs table writes a new Text for a new value), its place, width and style,
the cursor and hover — so an unchanged cell costs a dictionary lookup.

The header row and row labels go to Textual's own path (they change with the columns).
"""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.widgets import DataTable

SegmentLines = list[list[Segment]]


class CellCachedDataTable(DataTable):  # type: ignore[type-arg]
    """A DataTable whose cells are re-rendered only when their value or look changed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # (row key, column key, look) -> (value, lines): replaced when the value changed,
        # cleared when it holds four times the table's cells. Set before
        # DataTable's own __init__, which clears the caches (fixed_columns, cursor_type).
        self._own_cells: dict[tuple[object, object, tuple[object, ...]], tuple[object, Any]] = {}
        super().__init__(*args, **kwargs)

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        if row_index < 0 or column_index < 0:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        value = self._data[row_key].get(column_key)
        row = self.rows.get(row_key)
        look = (
            row_index,
            column_index,
            base_style,
            width,
            cursor,
            hover,
            self._show_hover_cursor,
            self._pseudo_class_state,
            self.show_cursor,
            self.fixed_rows,
            self.fixed_columns,
            self.cell_padding,
            row.height if row is not None else None,
        )
        # Keyed by the look too: a frozen column (fixed_columns) is painted by two paths with
        # two looks, and one slot per cell would make them evict each other on every line.
        cell = (row_key, column_key, look)
        found = self._own_cells.get(cell)
        if found is not None and found[0] is value:
            return found[1]  # type: ignore[no-any-return]
        lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        if len(self._own_cells) > 4 * max(1, self.row_count) * max(1, len(self.columns)):
            self._own_cells.clear()  # looks of rows since moved or resized: start again
        self._own_cells[cell] = (value, lines)
        return lines

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._own_cells.clear()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._own_cells.clear()

    def clear(self, columns: bool = False) -> Any:
        self._own_cells.clear()
        return super().clear(columns)
