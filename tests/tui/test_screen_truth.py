"""Issue 13, defect 7: at 80x24 a toast covers neither the log pane nor the help; a failed row
does not look like a succeeded one; a cancelled run's details say it was killed and how far it
got (the live count, named as such), never `exit code None` or `— processed`."""

from __future__ import annotations

from pathlib import Path

from console.format import state_cell
from console.tui.app import ConsoleApp
from console.tui.screens.run_details import run_details_text
from console.tui.widgets.runs_table import cell_text
from engine.config.load import load_config
from engine.model import RunState
from engine.results.schema import ExitRecord
from tests.support.config_writer import write_config
from tests.support.plans import SWEEP_AND_GROUP
from tests.support.results_builder import ended_summary


async def test_toasts_leave_the_log_pane_alone_at_80x24(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, plan=SWEEP_AND_GROUP)
    app = ConsoleApp(load_config(cfg), config_note="test config")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        app.notify("a long warning about a node that could not be reached at all", timeout=30)
        await pilot.pause(0.3)
        toasts = list(app.screen.query("Toast"))
        assert toasts
        log = app.main.log_pane.region
        for toast in toasts:
            assert not toast.region.overlaps(log), (toast.region, log)


def test_failed_rows_stand_out_and_succeeded_ones_do_not() -> None:
    failed = cell_text("state", state_cell(RunState.FAILED), state_cell(RunState.FAILED))
    ok = cell_text("state", state_cell(RunState.SUCCEEDED), state_cell(RunState.SUCCEEDED))
    run = cell_text("run", "s1-slow-60", state_cell(RunState.FAILED))
    assert str(failed.style) == "bold red" and str(run.style) == "bold red"
    assert str(ok.style) == ""
    # Without color, the symbol tells them apart.
    assert failed.plain.startswith("✗") and ok.plain.startswith("✓")


def test_cancelled_details_say_killed_and_the_live_count() -> None:
    summary = ended_summary(
        ExitRecord(RunState.CANCELLED, None, "cancelled by the user"), samples_requested=400
    )
    text = run_details_text(summary, None, "cancelled", last_seen=300)
    assert "None" not in text
    assert "killed by the cancel" in text
    assert "300 seen completed live (LoadGen recorded no count) of 400 requested" in text
