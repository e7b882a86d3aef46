"""Issue 13, Logs: the log pane wraps or cuts long lines (w), searches with / n N, shows stderr
only (2), fills the screen (z), merges every live run with a node prefix (m), follows whatever
is live (F) and hands the run's stdout.log to $PAGER (o; the real terminal hand-over is in
test_app_tmux.py). Textual's pilot on the real engine: local nodes, the real LoadGen through
the demo harness at simulated speeds (this machine has no GPU).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from console.tui.app import ConsoleApp
from console.tui.widgets.log_pane import LogPane
from console.tui.widgets.log_view import LogView
from engine.config.load import load_config
from tests.support.config_writer import write_config
from tests.support.pilot import notifications, painted_rows, wait_for

SETTINGS_LINE = "settings: mlperf.conf, then harness defaults"  # the harness's longest line


def sweep(nodes: list[str], samples: list[int]) -> str:
    return (
        f'\n[[plan]]\nkind = "sweep"\nname = "s"\nnodes = {nodes!r}\n'
        f'benchmark = "demo"\nsamples = {samples!r}\n'
    ).replace("'", '"')


def one_run_app(tmp_path: Path, extra_args: str = "") -> ConsoleApp:
    cfg = write_config(
        tmp_path, speeds={"slow": 400}, plan=sweep(["slow"], [100]), extra_args=extra_args
    )
    return ConsoleApp(load_config(cfg), config_note="test config")


async def finish_plan(pilot, app: ConsoleApp) -> tuple[LogPane, LogView]:  # noqa: ANN001
    """s, then wait for the run's end and its LoadGen summary below its output."""
    await pilot.press("s")
    await wait_for(pilot, lambda: app.state.runs["s1-slow-100"].terminal, timeout=40)
    # Its LoadGen summary is read in a thread and appended below the output.
    await wait_for(pilot, lambda: "s1-slow-100" in app.summaries)
    await pilot.pause(0.3)
    return app.main.log_pane, app.main.log_pane.log_widget


async def focus_log(pilot, app: ConsoleApp) -> None:  # noqa: ANN001
    """tab from panel to panel until the log has the focus, as a person would."""
    for _ in range(6):
        if app.focused is app.main.log_pane.log_widget:
            return
        await pilot.press("tab")
    raise AssertionError(f"tab never reached the log; focus on {app.focused}")


async def test_wrap_shows_a_long_line_whole_and_cut_without(tmp_path: Path) -> None:
    app = one_run_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        pane, view = await finish_plan(pilot, app)
        await pilot.press("f")  # paused: the view stays where it is put
        index = next(i for i, x in enumerate(view.lines) if SETTINGS_LINE in x.text)
        whole = view.lines[index].shown
        width = view.scrollable_content_region.width
        assert len(whole) > width + 10, (len(whole), width)  # it is long for this pane

        view.scroll_to(x=0, y=index, animate=False)
        await pilot.pause(0.2)
        top = painted_rows(view)[0]
        assert top == whole[: len(top)] and len(top) < len(whole)
        assert not any(whole[-20:] in row for row in painted_rows(view))  # its end is cut

        await pilot.press("w")
        assert "wrap" in str(pane.border_subtitle)
        view.scroll_to(y=view.row_of(index), animate=False)
        await pilot.pause(0.2)
        rows = painted_rows(view)
        taken = -(-len(whole) // width)
        assert "".join(rows[:taken]) == whole.rstrip(), rows[:taken]

        await pilot.press("w")  # cut again
        view.scroll_to(x=0, y=index, animate=False)
        await pilot.pause(0.2)
        assert len(painted_rows(view)[0]) < len(whole)


async def test_search_finds_and_n_N_move_between_matches(tmp_path: Path) -> None:
    app = one_run_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        pane, view = await finish_plan(pilot, app)
        # `/` on the table is the runs filter, never the log's search.
        await pilot.press("slash")
        assert app.focused is app.main.filter_input
        await pilot.press("escape")

        def footer_keys() -> set[str]:
            return {k for k, b in app.screen.active_bindings.items() if b.binding.show}

        assert "n" not in footer_keys()  # the table has the focus
        await focus_log(pilot, app)
        # The footer shows what the log accepts now that it has the focus.
        assert {"slash", "n", "N", "f", "w", "2", "z", "m", "F", "o"} <= footer_keys()
        await pilot.press("slash")
        assert app.focused is pane.search_box
        await pilot.press(*"samples", "enter")
        found = sum(x.shown.lower().count("samples") for x in view.lines)
        assert found > 3
        assert f"/samples {found}/{found}" in str(pane.border_subtitle)
        assert "paused" in str(pane.border_subtitle)  # a jump to a match stops following
        assert app.focused is view

        def current_line_painted() -> bool:
            """The current match's row is on screen, and the match with it."""
            m = view.matches[view.current]
            y = view.row_of(m.line, m.start) - int(view.scroll_y)
            rows = painted_rows(view)
            return 0 <= y < len(rows) and "samples" in rows[y].lower()

        await pilot.pause(0.2)
        assert current_line_painted()
        # The current match is painted in its own style (reverse video, bold).
        m = view.matches[view.current]
        strip = view.render_line(view.row_of(m.line, m.start) - int(view.scroll_y))
        styled = [s for s in strip if s.text.lower() == "samples" and s.style and s.style.reverse]
        assert styled, list(strip)

        await pilot.press("n")  # from the last match on to the first
        assert f"/samples 1/{found}" in str(pane.border_subtitle)
        await pilot.pause(0.2)
        assert current_line_painted()
        await pilot.press("N", "N")
        assert f"/samples {found - 1}/{found}" in str(pane.border_subtitle)

        await pilot.press("escape")
        assert "/samples" not in str(pane.border_subtitle) and not view.matches

        # ? lists the log's keys too (from the same list of actions).
        await pilot.press("question_mark")
        keys = str(app.screen.query_one("#help-keys").render())
        assert "In the log pane" in keys and "Next match" in keys and "$PAGER" in keys


async def test_stderr_filter_hides_stdout_lines(tmp_path: Path) -> None:
    # The harness says on stderr that it exits with code 3 (its stdout says the rest).
    app = one_run_app(tmp_path, "--exit-code-after 3")
    async with app.run_test(size=(120, 40)) as pilot:
        pane, view = await finish_plan(pilot, app)
        texts = [x.shown for x in view.lines]
        assert any("running LoadGen" in t for t in texts)
        await pilot.press("2")
        assert "stderr only" in str(pane.border_subtitle)
        texts = [x.shown for x in view.lines]
        assert texts and all(x.stderr for x in view.lines)
        assert any("exiting with code 3" in t for t in texts)
        assert not any("running LoadGen" in t for t in texts)
        await pilot.pause(0.2)
        assert painted_rows(view)[0].startswith("[stderr] demo harness: exiting")
        await pilot.press("2")
        assert any("running LoadGen" in x.shown for x in view.lines)


async def test_full_screen_hides_the_other_panels(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, speeds={"slow": 400}, plan=sweep(["slow"], [100]))
    app = ConsoleApp(load_config(cfg), config_note="test config")
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.main
        panels = (main.runs_table, main.nodes_panel, main.query_one("#charts"))
        assert all(p.region.area for p in panels)
        await pilot.press("z")
        await pilot.pause(0.1)
        assert not any(p.region.area for p in panels)
        assert main.log_pane.region.width == 120
        assert app.focused is main.log_pane.log_widget  # its own keys work at once
        await pilot.press("z")
        await pilot.pause(0.1)
        assert all(p.region.area for p in panels) and app.focused is main.runs_table

        # At 80x24 with the charts swapped in (v), z still leaves the log alone.
        await pilot.resize_terminal(80, 24)
        await pilot.press("v", "z")
        await pilot.pause(0.1)
        assert not main.query_one("#charts").region.area
        assert main.log_pane.region.width == 80


async def test_merged_view_shows_two_live_runs_with_their_node_prefixes(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        speeds={"slow": 100, "fast": 100},
        plan=sweep(["slow", "fast"], [3000]),
        extra_args="--progress-every 10",
    )
    app = ConsoleApp(load_config(cfg), config_note="test config")
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: len(app.state.live_runs) == 2)
        pane = app.main.log_pane
        view = pane.log_widget
        await pilot.press("m")
        assert pane.merged and "all live runs" in str(pane.border_title)

        def prefixes() -> set[str]:
            return {x.prefix for x in view.lines if "progress" in x.text.lower()}

        await wait_for(pilot, lambda: {"[slow] ", "[fast] "} <= prefixes(), timeout=30)
        await pilot.pause(0.2)
        painted = "\n".join(painted_rows(view))
        assert "[slow] " in painted or "[fast] " in painted
        # Moving the cursor does not leave the merged view; m goes back to the cursor's run.
        await pilot.press("down")
        assert pane.merged
        await pilot.press("m")
        assert not pane.merged and pane.run_id == app.main.runs_table.selected_key
        assert not any(x.prefix for x in view.lines)
        app.state.plan_running = False
        app.orchestrator.cancel_all()
        await wait_for(pilot, lambda: not app.orchestrator.live_runs, timeout=30)


async def test_follow_live_switches_to_the_next_live_run(tmp_path: Path) -> None:
    # Two runs one after the other on one node: the log leaves the first when it ends.
    cfg = write_config(tmp_path, speeds={"slow": 400}, plan=sweep(["slow"], [100, 4000]))
    app = ConsoleApp(load_config(cfg), config_note="test config")
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.main.log_pane
        assert pane.run_id == "s1-slow-100"
        await pilot.press("F")
        assert "follows what is live" in str(pane.border_subtitle)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state.runs["s1-slow-100"].terminal, timeout=40)
        await wait_for(pilot, lambda: pane.run_id == "s1-slow-4000", timeout=30)
        assert app.main.runs_table.selected_key == "s1-slow-4000"
        await wait_for(pilot, lambda: any("progress" in x.text for x in pane.log_widget.lines))
        # The user moves back to the finished run: F leaves the log there.
        await pilot.press("up")
        assert pane.run_id == "s1-slow-100"
        await pilot.pause(1.0)
        assert pane.run_id == "s1-slow-100" and app.state.runs["s1-slow-4000"].live
        # F again: off.
        await pilot.press("F")
        assert not pane.follow_live
        app.state.plan_running = False
        app.orchestrator.cancel_all()
        await wait_for(pilot, lambda: not app.orchestrator.live_runs, timeout=30)


async def test_pager_that_does_not_exist_is_a_notification(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAGER", "no-such-pager-here -R")
    app = one_run_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o")  # no run dir yet
        assert any("no run dir yet" in n for n in notifications(app))
        await finish_plan(pilot, app)
        await pilot.press("o")
        await wait_for(pilot, lambda: any("no pager" in n for n in notifications(app)))
        said = next(n for n in notifications(app) if "no pager" in n)
        assert "no-such-pager-here" in said and "stdout.log" in said
        assert app.is_running and app.screen is app.main
