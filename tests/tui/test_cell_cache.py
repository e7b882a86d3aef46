"""The runs table's caches (console/tui/widgets/cell_cache.py): a changed cell re-renders its
own line only, a moved row cursor the two lines it left and reached, and what is painted is
what a plain DataTable paints (new values, new widths, the cursor's row).

A plain DataTable re-renders every visible line after any `update_cell`, so the counts below
fail on it; the pictures are compared with one drawn by Textual's own DataTable.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from console.tui.widgets.cell_cache import CellCachedDataTable

ROWS = 12


class _Tables(App[None]):
    def __init__(self, cls: type[DataTable[Any]]) -> None:
        super().__init__()
        self.cls = cls

    def compose(self) -> ComposeResult:
        yield self.cls(cursor_type="row", fixed_columns=1, id="t")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Run", key="run")
        table.add_column("State", key="state", width=10)
        table.add_column("Done", key="done")
        for i in range(ROWS):
            table.add_row(Text(f"run-{i}"), Text("queued"), Text("0"), key=f"r{i}")


def _counting(table: DataTable[Any]) -> list[object]:
    """Count the lines rendered past every cache (DataTable._render_line_in_row)."""
    rendered: list[object] = []
    real = table._render_line_in_row

    def counted(row_key: Any, *args: Any, **kwargs: Any) -> Any:
        rendered.append(row_key.value)
        return real(row_key, *args, **kwargs)

    table._render_line_in_row = counted  # type: ignore[method-assign]
    return rendered


def _text(table: DataTable[Any]) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


async def _steps(cls: type[DataTable[Any]]) -> tuple[list[list[str]], list[list[object]]]:
    """The same edits on a table of `cls`: the picture and the lines rendered after each."""
    app = _Tables(cls)
    pictures: list[list[str]] = []
    counts: list[list[object]] = []
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(DataTable)
        await pilot.pause()
        table.refresh()  # the mount's last bump (a Resize) is painted: start from a settled table
        await pilot.pause()
        rendered = _counting(table)
        edits = [
            lambda: table.update_cell("r3", "state", Text("running")),
            lambda: table.update_cell("r5", "done", Text("12")),
            lambda: table.move_cursor(row=4),
            lambda: table.update_cell("r7", "done", Text("1234567890"), update_width=True),
        ]
        for edit in edits:
            rendered.clear()
            edit()
            await pilot.pause()
            await pilot.pause()
            counts.append(list(rendered))
            pictures.append(_text(table))
    return pictures, counts


async def test_a_changed_cell_renders_its_line_and_the_picture_is_textuals() -> None:
    ours, counts = await _steps(CellCachedDataTable)
    plain, _ = await _steps(DataTable)
    assert ours == plain  # the same picture after each edit: values, cursor, widths
    assert "running" in ours[0][4] and "12" in ours[1][6]
    assert counts[0] == ["r3"]  # one cell changed: its line only
    assert counts[1] == ["r5"]
    assert sorted(counts[2]) == ["r0", "r4"]  # the row cursor left r0 and reached r4
    # A wider Done column: every line again (the widths changed), the header included.
    assert len(counts[3]) > ROWS and "1234567890" in ours[3][8]
