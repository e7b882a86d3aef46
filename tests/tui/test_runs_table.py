"""Issue 13, the runs table: k9s's sort keys (N S O M, again: reverse; a group keeps its
shards under it; the title says the sort), vim's g G ctrl+d ctrl+u, the Run column frozen
while the others scroll, shard rows that name their node, group rows with the engine's live
rate and ETA, the plan's progress line in the notice bar (the batch printer's line, the
same figure), and the table keeping the live rows on screen while the user leaves it alone.

The app is fed the recorded events of a real plan (tests/data/console/plan_events.json: the
real LoadGen through the bundled harness, cut while the group's two shards run), so every
figure is one the engine published and the picture is the same on every run.
"""

from __future__ import annotations

import io
from pathlib import Path

from textual import events

from console.batch import BatchPrinter
from console.format import fmt_duration, fmt_num
from console.tui.row_filter import sort_keys
from console.tui.state import ConsoleState
from engine.config.load import load_config
from engine.events import PlanStarted, RunFinished, RunProgress, RunStateChanged
from engine.model import RunState
from tests.support.config_writer import write_config
from tests.support.event_codec import Clock, fed_app, feed, load_recording, make_app
from tests.support.pilot import painted_rows
from tests.support.plans import plan_table

GROUP_ROWS = ["s2-pair", "s2-pair-slow", "s2-pair-fast"]
# The group first, its shards sorted among themselves under it, then the sweep's runs.
BY_NAME = ["s2-pair", "s2-pair-fast", "s2-pair-slow", "s1-fast-100", "s1-slow-100"]
PLAN_ORDER = ["s1-slow-100", "s1-fast-100", *GROUP_ROWS]

# Each sort key in turn (again: reversed): the rows' order after it and what the title says.
SORT_STEPS = [
    # M: LoadGen metric, highest first (fast 207/s, slow 98.6/s); the running group has
    # none yet, so it goes last in either direction, its shards under it.
    ("M", ["s1-fast-100", "s1-slow-100", *GROUP_ROWS], "LoadGen metric ↓"),
    ("M", PLAN_ORDER, "LoadGen metric ↑"),
    # N: by name; the shards sort among themselves under their group.
    ("N", BY_NAME, "name ↑"),
    ("N", PLAN_ORDER, "name ↓"),
    # S: by state, what goes before what ended well.
    ("S", BY_NAME, "state ↑"),
]


def keys(app: object) -> list[str]:
    return list(app.main.runs_table._keys)  # type: ignore[attr-defined]


async def test_sort_keys_reverse_keep_shards_under_their_group_and_say_so(tmp_path: Path) -> None:
    async with fed_app(tmp_path, (120, 40)) as (app, pilot):
        table = app.main.runs_table
        assert keys(app) == PLAN_ORDER
        assert str(table.border_title) == "Runs"

        for key, order, sorted_by in SORT_STEPS:
            await pilot.press(key)
            assert keys(app) == order, key
            assert f"sorted by {sorted_by}" in str(table.border_title)
        # O: by node (the group's nodes are slow+fast).
        await pilot.press("O")
        assert keys(app)[:2] == ["s1-fast-100", "s1-slow-100"]
        assert keys(app)[2] == "s2-pair" and "sorted by node ↑" in str(table.border_title)

        # The sort and the `/` filter together, both in the title.
        await pilot.press("slash", *"slow", "enter")
        assert keys(app) == ["s1-slow-100", "s2-pair", "s2-pair-slow"]
        assert str(table.border_title) == "Runs — filter: slow — sorted by node ↑"


async def test_vim_keys_move_the_cursor_and_g_starts_nothing(tmp_path: Path) -> None:
    async with fed_app(tmp_path, (120, 40)) as (app, pilot):
        table = app.main.runs_table
        await pilot.press("G")
        assert table.selected_key == "s2-pair-fast"
        await pilot.press("g")  # the top row: no question, no stage started
        assert table.selected_key == "s1-slow-100"
        assert app.screen is app.main and not app.workers_running("plan")
        await pilot.press("g", "g")  # vim's gg
        assert table.selected_key == "s1-slow-100"
        await pilot.press("ctrl+d")
        half = table.cursor_row
        assert 1 < half < 5  # half of the table's rows on screen, not one, not all
        await pilot.press("ctrl+u")
        assert table.cursor_row == 0
        await pilot.press("pagedown")
        assert table.selected_key == "s2-pair-fast"
        await pilot.press("pageup")
        assert table.selected_key == "s1-slow-100"


async def test_the_run_column_stays_while_the_others_scroll_and_shards_name_their_node(
    tmp_path: Path,
) -> None:
    async with fed_app(tmp_path, (80, 24)) as (app, pilot):
        table = app.main.runs_table
        await pilot.press("end")  # scroll the columns to the far right
        await pilot.pause()
        assert table.scroll_x > 0
        rows = painted_rows(table)
        assert rows[0].split()[:2] == ["Run", "Node"], rows[0]  # Run, then the last columns
        assert rows[1].split()[:2] == ["s1-slow-100", "slow"]
        assert rows[4].split()[:3] == ["└", "slow", "slow"]  # the shard says its node
        # As wide as the longest name: no run id is cut.
        assert all(not r.split()[0].endswith("…") for r in rows[1:6])


async def test_group_rows_show_the_engines_live_rate_and_eta(tmp_path: Path) -> None:
    """The group's Live/s is its shards' latest live rates added, its ETA the later shard's:
    checked against the recorded RunProgress events themselves."""
    async with fed_app(tmp_path, (160, 48)) as (app, _):
        last = {
            e.run_id: e
            for _, batch in load_recording()
            for e in batch
            if isinstance(e, RunProgress) and e.run_id in GROUP_ROWS
        }
        assert set(last) == {"s2-pair-slow", "s2-pair-fast"}
        rate = sum(e.rate for e in last.values() if e.rate is not None)
        eta = max(e.eta_s for e in last.values() if e.eta_s is not None)
        table = app.main.runs_table
        assert table.get_cell("s2-pair", "live").plain == fmt_num(rate) != ""
        assert table.get_cell("s2-pair", "eta").plain == fmt_duration(eta) != ""
        # The later shard's ETA is the group's.
        slow_eta = table.get_cell("s2-pair-slow", "eta").plain
        assert slow_eta == fmt_duration(last["s2-pair-slow"].eta_s) == fmt_duration(eta)


async def test_the_notice_bar_says_the_plans_progress_as_the_batch_printer_does(
    tmp_path: Path,
) -> None:
    """After each run ends the batch printer prints the plan's line; the console's notice bar
    says the same line, from the same engine figure (engine.run.plan_progress)."""
    clock = Clock()
    app = make_app(tmp_path, clock)
    out = io.StringIO()
    printer = BatchPrinter(out)
    async with app.run_test(size=(160, 48)) as pilot:
        compared = 0
        for t, batch in load_recording():
            clock.now = t
            for event in batch:
                app.orchestrator.bus.publish(event)
                printer(event)
                if isinstance(event, PlanStarted | RunFinished):
                    app.bridge.flush()
                    await pilot.pause()
                    said = printer.plan_line()
                    assert said and said.startswith("plan: ")
                    shown = str(app.main.notice.render())
                    assert shown.startswith(said), (shown, said)
                    compared += 1
            app.bridge.flush()
            await pilot.pause()
        assert compared == 3  # the plan's start and the sweep's two runs
        printed = [line.partition("] ")[2] for line in out.getvalue().splitlines()]
        assert "plan: 2/4 runs done, stage 1/2 sweep, plan ETA — (stages not known)" in printed
        # Mid-group: two runs done of four, the group's stage, its ETA (the later shard's),
        # once the rows' next repaint (at most a second away) has painted the bar too.
        await pilot.pause(1.1)
        line = printer.plan_line()
        assert line is not None and line.startswith(
            "plan: 2/4 runs done, stage 2/2 pair, plan ETA "
        )
        assert "—" not in line
        assert str(app.main.notice.render()).startswith(line)


async def test_the_table_keeps_the_live_rows_on_screen_unless_the_user_moved(
    tmp_path: Path,
) -> None:
    clock = Clock()
    app = make_app(tmp_path, clock)
    async with app.run_test(size=(80, 16)) as pilot:
        table = app.main.runs_table
        now = [100.0]
        table.clock = lambda: now[0]
        await feed(app, clock, pilot)
        height = table.scrollable_content_region.height - table.header_height
        assert 0 < height < 5, height  # the five rows do not fit
        top = int(table.scroll_y)
        live = [keys(app).index(k) for k in GROUP_ROWS]
        assert top <= min(live) and max(live) < top + height, (top, height)
        # The user goes to the top: the table stays there while they may still be looking.
        await pilot.press("g")
        table.sync(app.state)
        await pilot.pause()
        assert table.scroll_y == 0
        now[0] += 11  # a while later: the live rows are brought back into view
        table.sync(app.state)
        await pilot.pause()
        assert int(table.scroll_y) > 0
        # The mouse wheel holds the table where the user scrolled it, as a key does.
        now[0] += 11
        for _ in range(5):  # the wheel, as the terminal reports it (Textual's own event)
            table.post_message(events.MouseScrollUp(table, 2, 2, 0, -1, 0, False, False, False))
        await pilot.pause()
        assert table.scroll_y == 0
        table.sync(app.state)
        await pilot.pause()
        assert table.scroll_y == 0


def test_names_sort_with_their_numbers_as_numbers(tmp_path: Path) -> None:
    plan = plan_table("sweep", name="sizes", nodes=["n2", "n10"], benchmark="demo",
                      samples=[20, 100, 9])  # fmt: skip
    cfg = load_config(write_config(tmp_path, speeds={"n2": 100, "n10": 100}, plan=plan))
    state = ConsoleState(cfg, lambda: 0.0)
    by_name = sort_keys(state, state.table_keys(), "run")
    assert by_name == [f"s1-{n}-{s}" for n in ("n2", "n10") for s in (9, 20, 100)]
    by_node = sort_keys(state, state.table_keys(), "node", reverse=True)
    assert [k.split("-")[1] for k in by_node] == ["n10"] * 3 + ["n2"] * 3


def test_state_sort_puts_trouble_first(tmp_path: Path) -> None:
    plan = plan_table("sweep", name="sizes", nodes=["n1"], benchmark="demo",
                      samples=[10, 20, 30, 40])  # fmt: skip
    cfg = load_config(write_config(tmp_path, speeds={"n1": 100}, plan=plan))
    state = ConsoleState(cfg, lambda: 0.0)
    said = {"s1-n1-10": RunState.SUCCEEDED, "s1-n1-20": RunState.RUNNING,
            "s1-n1-30": RunState.FAILED, "s1-n1-40": RunState.STALLED}  # fmt: skip
    state.apply_all([RunStateChanged(k, "n1", v) for k, v in said.items()])
    by_state = sort_keys(state, state.table_keys(), "state")
    assert by_state == ["s1-n1-30", "s1-n1-40", "s1-n1-20", "s1-n1-10"]
