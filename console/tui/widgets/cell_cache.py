"""A DataTable that renders a cell again only when that cell changed, and a line only when
something on it changed.

Textual's DataTable keys its cell, row and line caches on one counter (`_update_count`) that
every `update_cell` bumps, so one changed cell re-renders every visible cell and line of the
table. With 16 runs streaming, the runs table changes four cells per live row a second: the
largest single cost of the console's CPU (bench/console_cpu.py, docs/performance.md). This
table keeps two caches of its own:

- cells, keyed by what a cell's rendering depends on: its value (by identity: the runs table
  writes a new Text for a new value), its place, width and style, the cursor and hover;
- lines, keyed by the table's structure (`_update_count` less the bumps that came from
  `update_cell`), the row's own version (bumped by `update_cell` on that row), the column
  widths, the crop, and, for a row cursor, whether the cursor or the mouse is on that row.

So an unchanged line costs a dictionary lookup, and moving a row cursor re-renders two lines.
The header row and row labels go to Textual's own cell path (they change with the columns).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

SegmentLines = list[list[Segment]]

# A screen line's slot (y, x1, x2, width) -> (what it depended on, the strip); cleared when it
# holds this many slots (horizontal scrolling makes new ones).
MAX_LINE_SLOTS = 4096


class CellCachedDataTable(DataTable):  # type: ignore[type-arg]
    """A DataTable whose cells and lines are re-rendered only when their content or look
    changed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Set before DataTable's own __init__, which clears the caches (fixed_columns,
        # cursor_type). (row key, column key, look) -> (value, lines): replaced when the value
        # changed, cleared when it holds four times the table's cells.
        self._own_cells: dict[tuple[object, object, tuple[object, ...]], tuple[object, Any]] = {}
        self._own_lines: dict[tuple[int, int, int, int], tuple[tuple[object, ...], Strip]] = {}
        self._cell_updates = 0  # how many of _update_count's bumps came from update_cell
        self._row_versions: defaultdict[object, int] = defaultdict(int)
        self._frame_look: tuple[object, ...] = ()
        super().__init__(*args, **kwargs)

    # --- what invalidates ------------------------------------------------------------------

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: Any,
        *,
        update_width: bool = False,
    ) -> None:
        super().update_cell(row_key, column_key, value, update_width=update_width)
        # Reached only when the cell exists: the bump was one cell's, not the table's shape.
        self._cell_updates += 1
        self._row_versions[RowKey(row_key) if isinstance(row_key, str) else row_key] += 1

    @property
    def _structure(self) -> int:
        """Bumped by what moves or reshapes rows (add, remove, sort, clear, resize), not by
        a cell's new value."""
        return self._update_count - self._cell_updates

    @property
    def _y_offsets(self) -> list[tuple[RowKey, int]]:
        # Textual rebuilds this list (one entry per line of every row) on every update_cell;
        # it depends on the rows' order and heights only.
        structure = self._structure
        offsets = self._offset_cache.get(structure)
        if offsets is None:
            offsets = [(row.key, y) for row in self.ordered_rows for y in range(row.height)]
            self._offset_cache[structure] = offsets
        return offsets

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._own_cells.clear()
        self._own_lines.clear()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._own_cells.clear()
        self._own_lines.clear()

    def clear(self, columns: bool = False) -> Any:
        self._own_cells.clear()
        self._own_lines.clear()
        self._row_versions.clear()
        return super().clear(columns)

    def _update_dimensions(self, new_rows: Any) -> None:
        # Column widths and row heights are settled here, on idle, without a bump.
        super()._update_dimensions(new_rows)
        self._own_lines.clear()

    # --- rendering -------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # What every line of this frame depends on, computed once per frame.
        self._frame_look = (
            tuple(column.get_render_width(self) for column in self.ordered_columns),
            self._row_label_column_width,
            self._labelled_row_exists,
            self.show_row_labels,
            self.show_header,
            self.header_height,
            self.fixed_rows,
            self.fixed_columns,
            self.zebra_stripes,
            self.cell_padding,
            self.show_cursor,
            self.cursor_type,
            self._show_hover_cursor,
        )
        return super().render_lines(crop)

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        width = self.size.width
        try:
            row_key, line_in_row = self._get_offsets(y)
        except LookupError:
            return Strip.blank(width, base_style)
        cursor, hover = self.cursor_coordinate, self.hover_coordinate
        if self.cursor_type == "row":
            # A row cursor lights a whole row: a line depends on whether it is on that row.
            index = self._row_locations.get(row_key)
            index = -1 if index is None else index
            where: tuple[object, ...] = (cursor.row == index, hover.row == index)
        else:
            where = (cursor, hover)
        depends = (
            self._structure,
            row_key,
            line_in_row,
            self._row_versions.get(row_key, 0),
            where,
            base_style,
            self._pseudo_class_state,
            self._frame_look,
        )
        slot = (y, x1, x2, width)
        found = self._own_lines.get(slot)
        if found is not None and found[0] == depends:
            return found[1]
        strip = super()._render_line(y, x1, x2, base_style)
        if len(self._own_lines) >= MAX_LINE_SLOTS:
            self._own_lines.clear()
        self._own_lines[slot] = (depends, strip)
        return strip

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
