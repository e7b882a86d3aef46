"""Issue 13, history and comparison in the console: `H` opens every recorded run of the
config's results dir, judged as `mlconsole history` judges it (the same engine history, the
same cells); a run that falls below its node's previous median is marked in the runs table
and its details. Real LoadGen through the bundled harness; only node speeds are simulated."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.history_cli import history_cells, run_compare_lines
from console.tui.actions import ACTIONS, main_bindings
from console.tui.app import ConsoleApp
from console.tui.screens.history import HistoryScreen
from console.tui.screens.main import MainScreen
from console.tui.screens.run_details import RunDetailsScreen
from console.tui.widgets.runs_table import REGRESSION_MARK
from engine.analysis.compare import compare_runs, find_run
from engine.analysis.history import load_history
from engine.config.load import load_config
from tests.support.config_writer import write_config
from tests.support.killed_console import batch_killed_when
from tests.support.pilot import wait_for
from tests.support.results_builder import ResultsBuilder

ONE_RUN = '[[plan]]\nkind = "run"\nnode = "slow"\nbenchmark = "demo"\nsamples = 60\n'


def _earlier_runs(root: Path, values: list[float]) -> None:
    b = ResultsBuilder(root)
    for i, v in enumerate(values):
        b.run(
            "slow",
            60,
            duration=1.0,
            benchmark="demo",
            start=1.7e9 + i * 86_400,
            metric=("Samples per second", v, "samples/s"),
        )


def test_the_history_key_is_in_the_one_action_list() -> None:
    (action,) = [a for a in ACTIONS if a.action == "history"]
    assert action.key == "H" and action.show
    assert any(b.key == "H" and b.action == "app.history" for b in main_bindings())


async def test_history_screen_shows_the_engines_history(tmp_path: Path) -> None:
    _earlier_runs(tmp_path / "results", [200.0, 204.0, 150.0])
    cfg = write_config(tmp_path, speeds={"slow": 100}, plan=ONE_RUN)
    app = ConsoleApp(load_config(cfg), config_note="test config")
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("H")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await wait_for(pilot, lambda: screen.history is not None)
        table = screen.query_one("#history-table")
        engine = load_history([tmp_path / "results"], 0.05)
        assert table.row_count == engine.runs.height == 3
        for n, row in enumerate(engine.runs.to_dicts()):
            shown = [c.plain for c in table.get_row_at(n)]
            assert sorted(shown) == sorted(
                [*history_cells(row), row["node"], "demo", "Offline", "performance"]
            )
            assert shown[2] == history_cells(row)[-1]  # the verdict, near the left
        (flagged,) = engine.flagged.to_dicts()
        assert flagged["value"] == 150.0 and flagged["previous_median"] == 202.0
        await pilot.press("r")  # regressions only
        await wait_for(pilot, lambda: table.row_count == 1)
        assert "▼ REGRESSION" in table.get_row_at(0)[2].plain
        await pilot.press("r")  # all runs again
        await wait_for(pilot, lambda: table.row_count == 3)

        # space marks a run, c compares it with the cursor's: compare's own text.
        rows = engine.runs.to_dicts()
        await pilot.press("space", "j", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailsScreen))
        a, b = (find_run(str(r["path"]), []) for r in rows[:2])
        assert app.screen.text == "\n".join(run_compare_lines(compare_runs(a, b)))  # type: ignore[attr-defined]
        assert "wall throughput (model load included)" in app.screen.text  # type: ignore[attr-defined]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))


async def test_a_run_below_the_previous_median_is_marked_in_the_table_and_details(
    tmp_path: Path,
) -> None:
    # Earlier runs at ~200 samples/s; this console runs the node at 100.
    _earlier_runs(tmp_path / "results", [200.0, 198.0])
    cfg = write_config(tmp_path, speeds={"slow": 100}, plan=ONE_RUN)
    app = ConsoleApp(load_config(cfg), config_note="test config")
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state.runs["s1-slow-60"].terminal, timeout=60)
        row = app.state.runs["s1-slow-60"]
        assert row.regression is not None and row.regression.flagged
        # What the engine's history says of the same run dir.
        engine = load_history([tmp_path / "results"], 0.05)
        verdict = engine.regression_of(row.run_dir)  # type: ignore[arg-type]
        assert verdict == row.regression
        await pilot.pause(0.3)
        metric = app.main.runs_table.get_cell("s1-slow-60", "metric")  # type: ignore[union-attr]
        assert metric.plain.startswith(REGRESSION_MARK) and str(metric.style) == "bold red"
        wall = app.main.runs_table.get_cell("s1-slow-60", "wall")  # type: ignore[union-attr]
        assert not wall.plain.startswith(REGRESSION_MARK)  # judged by the LoadGen metric
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailsScreen))
        assert f"vs earlier runs:  {verdict.line('slow')}" in app.screen.text  # type: ignore[union-attr,attr-defined]


TWO_STAGES = """
[[plan]]
kind = "run"
name = "first"
node = "fast"
benchmark = "demo"
samples = 30

[[plan]]
kind = "run"
name = "second"
node = "slow"
benchmark = "demo"
samples = 240
"""


@pytest.mark.slow
@pytest.mark.timeout(150)
async def test_a_restarted_console_shows_the_verdict_of_runs_finished_before_it(
    tmp_path: Path,
) -> None:
    # fast ran at ~400 samples/s on earlier days; the killed console ran it at 200.
    b = ResultsBuilder(tmp_path / "results")
    for i in range(2):
        b.run("fast", 30, duration=1.0, benchmark="demo", start=1.7e9 + i * 86_400,
              metric=("Samples per second", 400.0, "samples/s"))  # fmt: skip
    cfg = write_config(tmp_path, speeds={"slow": 60, "fast": 200}, plan=TWO_STAGES)
    batch_killed_when(cfg, tmp_path / "results", started=2, collected=3)
    app = ConsoleApp(load_config(cfg), config_note="test config")
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.state.runs["s1-fast-30"].state == "succeeded")
        row = app.state.runs["s1-fast-30"]
        verdict = load_history([tmp_path / "results"], 0.05).regression_of(row.run_dir)  # type: ignore[arg-type]
        assert verdict is not None and verdict.flagged and row.regression == verdict
        await pilot.pause(0.3)
        metric = app.main.runs_table.get_cell("s1-fast-30", "metric")  # type: ignore[union-attr]
        assert metric.plain.startswith(REGRESSION_MARK)
