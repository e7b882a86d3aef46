"""Issue 13, nodes at fleet size and the console's CPU: the runs table renders a cell again
only when it changed; the dense nodes view (`d`) fits 32 nodes at 160x48 and scrolls beyond;
the live charts keep readable legends with many nodes.

The app is the real one over a config of local nodes; the events are fed as the engine's
bridge posts them (`EngineBatch`). GPU telemetry is a labelled stand-in: this machine has no
GPU, and the point is what the console does with 32 nodes' samples, not how they are taken.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from console.tui.app import ConsoleApp
from console.tui.messages import EngineBatch
from engine.config.load import load_config
from engine.events import RunProgress
from tests.support.config_writer import write_config
from tests.support.pilot import wait_for
from tests.support.plans import sweep_on_each


def app_for(tmp_path: Path, nodes: int, **kwargs: object) -> ConsoleApp:
    names = [f"n{i:02d}" for i in range(1, nodes + 1)]
    cfg = write_config(tmp_path, speeds=dict.fromkeys(names, 40.0), plan=sweep_on_each(names, 400))
    return ConsoleApp(load_config(cfg), config_note="test config", **kwargs)  # type: ignore[arg-type]


async def test_a_changed_cell_renders_that_cell_only(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    app = app_for(tmp_path, 16, table_interval_s=0.0)
    rendered: list[tuple[int, int]] = []
    base = DataTable._render_cell

    def counting(self, row_index, column_index, *args, **kwargs):  # noqa: ANN001, ANN202
        if row_index >= 0:
            rendered.append((row_index, column_index))
        return base(self, row_index, column_index, *args, **kwargs)

    monkeypatch.setattr(DataTable, "_render_cell", counting)
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.main.runs_table
        await wait_for(pilot, lambda: len(table._keys) == 16)
        await pilot.pause(0.3)
        first_paint = len(rendered)
        assert first_paint >= 16 * 10, "the table was not painted"
        rendered.clear()
        run_id = table._keys[3]
        app.post_message(EngineBatch((RunProgress(run_id, 100, 400, 12.0, 30.0, "stdout"),)))
        await wait_for(pilot, lambda: app.state.runs[run_id].completed == 100)
        await pilot.pause(0.3)
        # Progress, done/total, ETA: the cells that changed; the other 15 rows are untouched.
        rows = {r for r, _ in rendered}
        assert rows == {3}, f"rows rendered again for one changed row: {sorted(rows)}"
        assert len(rendered) <= 6
        assert "100/400" in "".join(
            seg.text for seg in table.render_line(table.get_row_index(run_id) + 1)
        )
