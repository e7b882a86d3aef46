"""Issue 13, defect 7: at 80x24 a toast covers neither the log pane nor the help; a failed row
does not look like a succeeded one; a cancelled run's details say it was killed and how far it
got (the live count, named as such), never `exit code None` or `— processed`; a node's GPU
reason does not change words within seconds."""

from __future__ import annotations

from pathlib import Path

from console.format import state_cell
from console.tui.app import ConsoleApp
from console.tui.screens.help import HelpScreen
from console.tui.screens.run_details import run_details_text
from console.tui.state import ConsoleState
from console.tui.widgets.runs_table import cell_text
from engine.config.load import load_config
from engine.model import RunState
from engine.results.schema import ExitRecord
from tests.support.config_writer import write_config
from tests.support.plans import SWEEP_AND_GROUP, run_plan, sweep_on_each
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


async def test_toasts_leave_the_help_alone_at_80x24(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, plan=SWEEP_AND_GROUP)
    app = ConsoleApp(load_config(cfg), config_note="test config")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        app.notify("a long warning about a node that could not be reached at all", timeout=30)
        await pilot.pause(0.3)
        toasts = list(app.screen.query("Toast"))
        assert toasts
        shown = app.screen.query_one("#help").region
        assert shown.height >= 8  # the help is still there to read (and scrolls)
        for toast in toasts:
            assert not toast.region.overlaps(shown), (toast.region, shown)


async def test_a_nodes_gpu_reason_keeps_its_words(tmp_path: Path) -> None:
    """The real engine on this machine: preflight checks the node (nvidia-smi), then the run's
    sampler asks NVML; each may word the absence of GPUs otherwise. Once the node's check has
    said why, the card says that, for the rest of the plan (read after every event)."""
    cfg = load_config(
        write_config(tmp_path, speeds={"slow": 100, "fast": 200}, plan=sweep_on_each(["slow"], 150))
    )
    state = ConsoleState(cfg, lambda: 0.0)
    notes: list[str | None] = []
    checked = [False]

    def listen(ev: object) -> None:
        state.apply_all([ev])  # type: ignore[list-item]
        node = state.nodes["slow"]
        checked[0] = checked[0] or node.facts is not None
        if checked[0]:
            notes.append(node.telemetry_note)

    run = await run_plan(cfg, listen, timeout_s=60)
    assert run.outcome.ok and notes
    assert any(type(e).__name__ == "TelemetrySampled" for e in run.events)
    assert len(set(notes)) == 1, sorted(set(map(str, notes)))


def test_failed_rows_stand_out_and_succeeded_ones_do_not() -> None:
    failed = cell_text("state", state_cell(RunState.FAILED), state_cell(RunState.FAILED))
    ok = cell_text("state", state_cell(RunState.SUCCEEDED), state_cell(RunState.SUCCEEDED))
    run = cell_text("run", "s1-slow-60", state_cell(RunState.FAILED))
    assert str(failed.style) == "bold red" and str(run.style) == "bold red"
    assert str(ok.style) == ""
    for trouble in (RunState.STALLED, RunState.LINK_LOST):
        cell = cell_text("state", state_cell(trouble), state_cell(trouble))
        assert str(cell.style) == "bold yellow" and cell.plain[0] in "‖⚡"
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
