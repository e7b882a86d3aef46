"""Issue 13, defect 5: keys that fire by accident. `g` on a group row asks before it starts the
stage; `/` opens a filter line, so typing `/fast` filters the runs and fires none of `a`, `s`
or `t`. Textual's pilot on the real engine (local nodes, simulated speeds; nothing starts).
"""

from __future__ import annotations

from pathlib import Path

from console.tui.app import ConsoleApp
from console.tui.screens.confirm import ConfirmScreen
from engine.config.load import load_config
from tests.support.config_writer import write_config
from tests.support.plans import SWEEP_AND_GROUP


def rows(app: ConsoleApp) -> list[str]:
    return list(app.main.runs_table._keys)


async def test_g_asks_and_slash_filters_without_firing_keys(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, speeds={"slow": 100, "fast": 200}, plan=SWEEP_AND_GROUP)
    app = ConsoleApp(load_config(cfg), config_note="test config")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        # ctrl+g on the group row: a question, whose first (focused) answer is Back (g is
        # the top row, as in vim and k9s).
        table = app.main.runs_table
        table.move_cursor(row=rows(app).index("s2-pair"))
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.focused is not None and app.screen.focused.id == "back"
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert not app.state.plan_running and not app.workers_running("plan")

        # /fast: a filter, not the keys s (start), t (theme), a (attach).
        theme = app.theme
        await pilot.press("slash", *"fast")
        await pilot.pause(0.2)
        assert app.theme == theme
        assert not app.state.plan_running and not app.workers_running("plan")
        assert rows(app) == ["s1-fast-150", "s2-pair"]
        # enter keeps the filter and gives the keys back to the table.
        await pilot.press("enter")
        assert app.focused is table and rows(app) == ["s1-fast-150", "s2-pair"]
        assert "filter: fast" in str(table.border_title)
        # By field: state and node (the old text is selected when the line reopens).
        await pilot.press("slash", *"state:planned node:slow")
        await pilot.pause(0.2)
        assert rows(app) == ["s1-slow-150", "s2-pair"]
        # esc clears it: every row is back.
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert rows(app) == ["s1-slow-150", "s1-fast-150", "s2-pair"]
        assert app.focused is table
        # vim's keys move the cursor; ? lists them, the filter and the log's follow key.
        await pilot.press("g", "j")
        assert table.selected_key == "s1-fast-150"
        await pilot.press("k")
        assert table.selected_key == "s1-slow-150"
        await pilot.press("G")
        assert table.selected_key == "s2-pair"
        await pilot.press("question_mark")
        await pilot.pause()
        keys = str(app.screen.query_one("#help-keys").render())
        keys += str(app.screen.query_one("#help-navigation").render())
        assert "Filter the runs" in keys and "Follow the log" in keys and "j k" in keys
