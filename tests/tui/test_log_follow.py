"""Issue 13, defect 6: the log pane keeps following a live run after the terminal is resized
and after the cursor moves onto a running run; `f` pauses and follows again, and the border
says which. Textual's pilot on the real engine (local nodes, simulated speeds).
"""

from __future__ import annotations

from pathlib import Path

from console.tui.app import ConsoleApp
from engine.config.load import load_config
from tests.support.config_writer import write_config
from tests.support.pilot import wait_for
from tests.support.plans import sweep_on_each


def at_end(app: ConsoleApp) -> bool:
    log = app.main.log_pane.log_widget
    return log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y


async def test_log_follows_after_resize_and_switch_and_f_pauses(tmp_path: Path) -> None:
    # 300 progress lines per run (one per 10 samples) over ~30 s: the log outgrows the pane.
    cfg = write_config(
        tmp_path,
        speeds={"slow": 100, "fast": 100},
        plan=sweep_on_each(["slow", "fast"], 3000),
        extra_args="--progress-every 10",
    )
    app = ConsoleApp(load_config(cfg), config_note="test config")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: len(app.main.log_pane.log_widget.lines) > 40)
        await wait_for(pilot, lambda: at_end(app))
        # A smaller terminal, then a larger one: lines keep arriving and stay in view.
        for size in ((80, 24), (160, 48)):
            await pilot.resize_terminal(*size)
            before = len(app.main.log_pane.log_widget.lines)
            await wait_for(pilot, lambda b=before: len(app.main.log_pane.log_widget.lines) > b)
            await pilot.pause(0.3)
            assert at_end(app), size
        # Onto the other running run: its log, followed.
        await pilot.press("down")
        assert app.main.log_pane.run_id == "s1-fast-3000"
        before = len(app.main.log_pane.log_widget.lines)
        await wait_for(pilot, lambda: len(app.main.log_pane.log_widget.lines) > before)
        await pilot.pause(0.3)
        assert at_end(app)
        # f pauses: the view stays put while lines arrive; f again follows.
        assert "following" in str(app.main.log_pane.border_subtitle)
        await pilot.press("f")
        assert "paused" in str(app.main.log_pane.border_subtitle)
        app.main.log_pane.log_widget.scroll_to(y=0, animate=False)
        # (Lines as the engine's batches bring them; written directly so that the check does
        # not depend on the run still going on a loaded machine.)
        app.main.log_pane.append("s1-fast-3000", [f"line {i}" for i in range(50)])
        await pilot.pause(0.2)
        assert app.main.log_pane.log_widget.scroll_y == 0
        await pilot.press("f")
        await pilot.pause(0.3)
        assert at_end(app)
        app.state.plan_running = False
        app.orchestrator.cancel_all()
        await wait_for(pilot, lambda: not app.orchestrator.live_runs, timeout=30)
