"""The console, driven by Textual's pilot against the real engine: the real orchestrator runs
the real LoadGen through the bundled harness on two local nodes (only their speeds are
simulated). Plus the console's pure parts (coalescing, folding, formatting, themes) on real
engine events.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from console.tui.app import ConsoleApp, load_theme_files
from console.tui.bridge import EventCoalescer
from console.tui.screens.config_error import ConfigErrorScreen
from console.tui.screens.confirm import ConfirmScreen
from console.tui.screens.help import HelpScreen
from console.tui.screens.run_details import RunDetailsScreen, run_details_text
from console.tui.state import ConsoleState
from console.tui.widgets.runs_table import progress_bar, run_cells
from engine.config.load import load_config
from engine.errors import ConfigError
from engine.events import (
    NodeStateChanged,
    RunFinished,
    RunLog,
    RunProgress,
    RunQueued,
    RunStateChanged,
)
from engine.model import Mode, NodeState, RunSpec, RunState, Scenario
from engine.results.schema import ExitRecord, RunSummary
from tests.support.cli import summaries
from tests.support.config_writer import write_config
from tests.support.event_codec import load_recording
from tests.support.pilot import notifications, wait_for
from tests.support.plans import SWEEP_AND_GROUP, sweep_on_each
from tests.support.results_builder import ended_summary


def cell(app: ConsoleApp, key: str, column: str) -> str:
    assert app.main is not None
    return app.main.runs_table.get_cell(key, column).plain


def log_lines(app: ConsoleApp) -> list[str]:
    assert app.main is not None
    return [line.shown for line in app.main.log_pane.log_widget.lines]


# --- the story, against the real engine ------------------------------------------------------


async def test_plan_progress_log_details_export_theme_help_quit(tmp_path: Path) -> None:
    # slow takes about 2.5 s for its 150 samples, so the table shows several partial counts.
    cfg = write_config(tmp_path, speeds={"slow": 60, "fast": 300}, plan=SWEEP_AND_GROUP)
    # Table repaints every 0.2 s instead of 1 s, so that a 1 s run shows several steps.
    app = ConsoleApp(load_config(cfg), config_note="test config", table_interval_s=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "planned" in cell(app, "s1-slow-150", "state")
        assert "group pair" in cell(app, "s2-pair", "run")

        await pilot.press("s")
        # Progress advances in the table while the run goes, not just at its end.
        shown: list[str] = []

        def slow_done() -> bool:
            shown.append(cell(app, "s1-slow-150", "done"))
            return app.state.runs["s1-slow-150"].terminal

        await wait_for(pilot, slow_done)
        partial = {s for s in shown if s and not s.startswith(("0/", "150/"))}
        assert len(partial) >= 2, shown
        # The cursor's run (the first row) is followed in the log pane, then its summary.
        await wait_for(pilot, lambda: any("Result is : VALID" in x for x in log_lines(app)))
        # The harness copies the summary to stdout first; the pane adds LoadGen's own summary
        # file when RunFinished arrives, after the run's report is written.
        await wait_for(pilot, lambda: any("mlperf_log_summary.txt" in x for x in log_lines(app)))
        lines = log_lines(app)
        assert any(x.startswith("progress ") for x in lines)
        assert any("mlperf_log_summary.txt" in x for x in lines)

        # Selecting another run switches the log to it.
        await pilot.press("down")
        assert app.main.log_pane.run_id == "s1-fast-150"
        await wait_for(pilot, lambda: any("progress" in x for x in log_lines(app)))

        await wait_for(pilot, lambda: app.state.groups["s2-pair"].state == "finished")
        await wait_for(pilot, lambda: not app.state.plan_running)
        await wait_for(pilot, lambda: "finished" in cell(app, "s2-pair", "state"))
        assert cell(app, "s2-pair", "valid") == "VALID"
        assert cell(app, "s1-slow-150", "valid") == "VALID"
        # Throughput shown is the engine's recorded wall throughput, not the console's own.
        recorded = summaries(tmp_path / "results")
        wall = recorded["s1-slow-150"]["wall_throughput"]["value"]
        assert cell(app, "s1-slow-150", "wall") == f"{wall:.3g}"
        # LoadGen's own metric has its own column, and a finished run shows no live rate.
        metric = recorded["s1-slow-150"]["loadgen"]["metric"]["value"]
        assert cell(app, "s1-slow-150", "metric") == f"{metric:.3g}/s"
        assert cell(app, "s1-slow-150", "live") == ""

        # Details of the selected run: the parsed summary and LoadGen's own summary file.
        await pilot.press("up", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailsScreen))
        details = app.screen.query_one("#details-text").render()
        assert "validity:         VALID" in str(details)
        assert "mlperf_log_summary.txt" in str(details)
        await wait_for(
            pilot, lambda: "Result is" in str(app.screen.query_one("#details-loadgen").render())
        )
        await pilot.press("escape")
        assert app.screen is app.main

        # Export: charts and markdown written, and the console says where.
        reports = tmp_path / "reports"
        await pilot.press("e")
        await wait_for(pilot, lambda: any("report exported" in n for n in notifications(app)))
        assert list(reports.rglob("*.md")) and list(reports.rglob("*.png"))
        assert any(str(reports) in n for n in notifications(app))

        # Themes switch at run time.
        assert app.theme == "dark"
        await pilot.press("t")
        assert app.theme == "light" and not app.current_theme.dark
        await pilot.press("t")
        assert app.theme == "dark"

        # Help lists the keys from the same bindings the footer shows.
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = str(app.screen.query_one("#help-keys").render())
        assert "Cancel the selected run" in keys and "Export the report" in keys
        await pilot.press("escape")

        # Nothing live: q quits at once.
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running)
    assert app.return_value == 0


async def test_cancel_with_confirmation_then_quit_cancelling_the_rest(tmp_path: Path) -> None:
    # Long runs (12000 samples at 200/s = 60 s) so that they are live while we act, even on a
    # loaded machine where each step below takes seconds.
    plan = sweep_on_each(["slow", "fast"], 12000)
    cfg = write_config(tmp_path, speeds={"slow": 200, "fast": 200}, plan=plan)
    app = ConsoleApp(load_config(cfg), config_note="test config")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: (app.state.runs["s1-slow-12000"].completed or 0) > 0)
        assert app.main.runs_table.selected_key == "s1-slow-12000"

        # c asks first; the safe answer has the focus.
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.focused is not None and app.screen.focused.id == "keep"
        await pilot.press("escape")  # changed my mind: still running
        await pilot.pause(0.3)
        assert app.state.runs["s1-slow-12000"].state == "running"

        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#cancel")
        await wait_for(pilot, lambda: app.state.runs["s1-slow-12000"].state == "cancelled")
        await wait_for(pilot, lambda: "cancelled" in cell(app, "s1-slow-12000", "state"))
        assert app.state.runs["s1-fast-12000"].live

        # q with a run live asks; "Stay" keeps the console open.
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "s1-fast-12000" in str(app.screen.query_one("#dialog-message").render())
        await pilot.click("#stay")
        await pilot.pause(0.2)
        assert app.is_running and app.screen is app.main

        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#cancel")
        await wait_for(pilot, lambda: not app.is_running, timeout=30)

    recorded = summaries(tmp_path / "results")
    assert recorded["s1-slow-12000"]["exit"]["state"] == "cancelled"
    assert recorded["s1-fast-12000"]["exit"]["state"] == "cancelled"
    # Partial results are kept: LoadGen had processed some samples, the logs are there.
    slow = recorded["s1-slow-12000"]
    assert (tmp_path / "results" / slow["run_dir"] / "stdout.log").stat().st_size > 0


async def test_quit_leaves_runs_going_and_a_new_console_reattaches(tmp_path: Path) -> None:
    # 1,200 samples at 120/s: about 10 s, so the run outlives the quit on a loaded machine.
    plan = '\n[[plan]]\nkind = "run"\nnode = "fast"\nbenchmark = "demo"\nsamples = 1200\n'
    cfg = write_config(tmp_path, speeds={"fast": 120}, plan=plan)
    app = ConsoleApp(load_config(cfg), config_note="test config")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: (app.state.runs["s1-fast-1200"].completed or 0) > 0)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#quit")
        await wait_for(pilot, lambda: not app.is_running)
    (entry,) = [e for e in _journal(tmp_path) if e["event"] == "started"]
    os.kill(entry["pid"], 0)  # the detached run is still going (raises if it is gone)

    again = ConsoleApp(load_config(cfg), config_note="test config")
    async with again.run_test(size=(120, 40)) as pilot:
        await wait_for(
            pilot, lambda: any("press a to re-attach" in n for n in notifications(again))
        )
        await pilot.press("a")
        await wait_for(pilot, lambda: again.state.runs["s1-fast-1200"].state == "succeeded")
        # Validity comes with RunFinished, after the run's report is written.
        await wait_for(pilot, lambda: again.state.runs["s1-fast-1200"].validity is not None)
        assert again.state.runs["s1-fast-1200"].validity == "VALID"
        # The screen repaints on the app's StateChanged message, a moment after the state.
        await wait_for(pilot, lambda: "succeeded" in cell(again, "s1-fast-1200", "state"))
    assert summaries(tmp_path / "results")["s1-fast-1200"]["samples_processed"] == 1200


def _journal(tmp_path: Path) -> list[dict[str, Any]]:
    lines = (tmp_path / "results" / "journal.jsonl").read_text().splitlines()
    return [json.loads(x) for x in lines]


async def test_palette_preflight_and_no_color(tmp_path: Path, monkeypatch: Any) -> None:
    """With NO_COLOR set the console still renders; the palette runs the same actions as the
    keys (here: preflight, which probes the two local nodes for real)."""
    monkeypatch.setenv("NO_COLOR", "1")
    cfg = write_config(tmp_path, speeds={"slow": 100, "fast": 200}, plan=SWEEP_AND_GROUP)
    app = ConsoleApp(load_config(cfg), config_note="test config")
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.no_color
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"preflight")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: all(n.state == "ready" and n.facts for n in app.state.nodes.values())
        )
        # Node cards repaint within a second (the table and cards are throttled to 1 Hz).
        await wait_for(pilot, lambda: "ready" in app.export_screenshot())
        svg = app.export_screenshot()
        assert "Runs" in svg and "LoadGen" in svg and "slow" in svg
        await pilot.press("q")


async def test_config_error_is_a_screen_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[settings]\ntheme = 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    app = ConsoleApp(None, config_error=info.value)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, ConfigErrorScreen)
        text = str(app.screen.query_one("#config-error-text").render())
        assert str(bad) in text and "settings.theme" in text
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running)


# --- pure parts, on real engine events --------------------------------------------------------


def _spec(run_id: str = "r1", node: str = "slow") -> RunSpec:
    return RunSpec(run_id, node, "demo", Scenario.OFFLINE, Mode.PERFORMANCE, 100)


def test_coalescer_keeps_order_latest_progress_and_all_lines() -> None:
    c = EventCoalescer(max_lines=5)
    c.add(RunStateChanged("r1", "slow", RunState.RUNNING))
    c.add(RunProgress("r1", 10, 100, None, None, "stdout"))
    c.add(RunLog("r1", "stdout", ("a", "b")))
    c.add(RunProgress("r2", 5, 100, None, None, "stdout"))
    c.add(RunProgress("r1", 20, 100, 4.0, 20.0, "stdout"))
    c.add(RunLog("r1", "stdout", ("c",)))
    c.add(RunLog("r1", "stderr", ("oops",)))
    out = c.drain()
    assert [type(e).__name__ for e in out] == [
        "RunStateChanged",
        "RunProgress",
        "RunLog",
        "RunProgress",
        "RunLog",
    ]
    assert out[1].completed == 20 and out[1].rate == 20.0  # latest, at the first one's place
    assert out[2].lines == ("a", "b", "c")
    assert c.drain() == ()
    # A burst larger than the cap keeps the newest lines and says how many were skipped.
    c.add(RunLog("r1", "stdout", tuple(str(i) for i in range(8))))
    c.add(RunLog("r1", "stdout", ("8", "9")))
    (burst,) = c.drain()
    assert burst.lines[1:] == ("5", "6", "7", "8", "9")
    assert burst.lines[0].startswith("… 5 stdout lines skipped")


def test_state_folds_recorded_engine_events() -> None:
    state = ConsoleState(None, clock=lambda: 0.0)
    for _, batch in load_recording():
        state.apply_all(batch)
    slow = state.runs["s1-slow-100"]
    assert slow.state == "succeeded" and slow.validity == "VALID"
    assert slow.summary is not None and slow.summary.wall_throughput is not None
    shard = state.runs["s2-pair-slow"]
    assert shard.live and shard.group_id == "s2-pair"
    assert state.table_keys() == [
        "s1-slow-100",
        "s1-fast-100",
        "s2-pair",
        "s2-pair-slow",
        "s2-pair-fast",
    ]
    done, total = state.group_progress(state.groups["s2-pair"])
    assert total == 400 and 0 < done < 400
    assert any(line.startswith("progress ") for line in state.logs["s2-pair-slow"])


def _failed_summary(detail: str) -> RunSummary:
    return ended_summary(ExitRecord(RunState.FAILED, 1, detail))


def test_state_group_shards_requeued_and_node_errors() -> None:
    state = ConsoleState(None, clock=lambda: 0.0)
    changes = state.apply_all(
        [
            RunQueued(_spec()),
            NodeStateChanged("slow", NodeState.UNREACHABLE, "connection refused"),
        ]
    )
    assert changes.rows_added and state.order == ["r1"]
    assert state.nodes["slow"].last_error == "connection refused"
    state.apply_all(
        [
            RunLog("r1", "stderr", ("boom",)),
            RunFinished("r1", "slow", RunState.FAILED, "", _failed_summary("x")),
        ]
    )
    assert state.runs["r1"].terminal and state.runs["r1"].detail == "x"
    assert list(state.logs["r1"]) == ["[stderr] boom"]
    # The plan started again: the same run id is a fresh row, its old log forgotten.
    state.apply_all([RunQueued(_spec())])
    assert state.runs["r1"].state == "queued" and "r1" not in state.logs


def test_cells_and_bars() -> None:
    assert progress_bar(None, 100) == "" and progress_bar(5, None) == ""
    assert progress_bar(50, 100, width=4) == "━━── " + " 50%"
    assert progress_bar(100, 100, width=4) == "━━━━ 100%"
    state = ConsoleState(None, clock=lambda: 0.0)
    state.apply_all(
        [RunQueued(_spec("x[bold]y")), RunProgress("x[bold]y", 3, None, None, None, "stdout")]
    )
    cells = run_cells(state.runs["x[bold]y"])
    assert cells[0] == "x[bold]y" and cells[3] == "3/?" and cells[2] == ""


def test_run_details_from_a_recorded_summary() -> None:
    (finished, *_) = [e for _, b in load_recording() for e in b if isinstance(e, RunFinished)]
    text = run_details_text(finished.summary, finished.run_dir, finished.state.value)
    assert "validity:         VALID" in text
    assert "wall throughput:" in text and "not the MLPerf number" in text
    assert "mlperf_log_summary.txt" in text


def test_theme_files_become_textual_themes() -> None:
    themes = {t.name: t for t in load_theme_files()}
    assert {"dark", "light"} <= set(themes)
    assert themes["dark"].dark and not themes["light"].dark
    assert themes["light"].variables["footer-key-foreground"].startswith("#")
