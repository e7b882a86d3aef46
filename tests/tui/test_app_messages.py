"""The console's parts talk by messages, and nothing they do fails silently: the screen asks the
app for details by message and the app tells the screen what changed by message (recorded
with Textual's `message_hook`); a background worker's error is shown; the simulated-speeds
notice is known by its type. Engine events here are published on the app's real bus and go
through the real bridge; the plan itself is not started (nothing needs LoadGen).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.message import Message

from console.format import STATE_CELLS, STATE_LABELS
from console.tui.app import ConsoleApp
from console.tui.messages import StateChanged
from console.tui.screens.main import MainScreen
from console.tui.screens.run_details import RunDetailsScreen
from console.tui.state import ConsoleState
from engine.config.load import load_config
from engine.events import Notice, PlanStarted, RunStateChanged, SimulatedSpeedsNotice
from engine.model import RunState
from engine.results.store import ResultsStore
from tests.support.config_writer import write_config
from tests.support.pilot import notifications, wait_for

PLAN = '\n[[plan]]\nkind = "run"\nnode = "slow"\nbenchmark = "demo"\nsamples = 50\n'
RUN = "s1-slow-50"


def test_every_run_state_has_words_and_a_cell() -> None:
    """Pins the console as the one home of run-state labels: a new RunState without words
    would show its bare identifier."""
    for state in RunState:
        assert state in STATE_LABELS and state in STATE_CELLS, state


def test_the_simulated_notice_is_known_by_its_type_not_its_words() -> None:
    """Pins defect 4: the notice bar says SIMULATED itself and never repeats the engine's
    simulated-speeds notice, however it is worded; other notices still show."""
    state = ConsoleState(None, clock=lambda: 0.0)
    changes = state.apply_all(
        [PlanStarted("c.toml", 1, 1, True), SimulatedSpeedsNotice("these speeds are made up")]
    )
    line = state.notice_line("c.toml")
    assert "SIMULATED" in line and "made up" not in line
    assert [n.message for n in changes.notices] == ["these speeds are made up"]  # a toast
    state.apply_all([Notice("link to fast restored")])
    assert state.notice_line("c.toml").endswith("link to fast restored")


async def test_screen_and_app_pass_messages_both_ways(tmp_path: Path) -> None:
    """Pins defect 8: enter on a row posts MainScreen.DetailsRequested (the screen calls no
    app action); engine changes reach the screen as StateChanged messages, also while the
    details screen hides it, and it catches up when it is back."""
    seen: list[Message] = []
    app = ConsoleApp(load_config(write_config(tmp_path, plan=PLAN)), config_note="test")
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await wait_for(pilot, lambda: app.main is not None and app.main.selected_key == RUN)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailsScreen))
        # One message (the hook sees it at the screen and again where it bubbles to the app).
        asked = {id(m): m for m in seen if isinstance(m, MainScreen.DetailsRequested)}
        assert [m.key for m in asked.values()] == [RUN]

        app.orchestrator.bus.publish(RunStateChanged(RUN, "slow", RunState.STALLED, "quiet"))
        app.bridge.flush()
        await wait_for(pilot, lambda: app.state.runs[RUN].state == RunState.STALLED)
        told = [m for m in seen if isinstance(m, StateChanged) and RUN in m.changes.runs]
        assert told and app.main is not None
        await wait_for(pilot, lambda: app.main.stale)  # hidden: it repaints when it is back
        await pilot.press("escape")
        await wait_for(pilot, lambda: "stalled" in _state_cell(app))
        assert not app.main.stale


def _state_cell(app: ConsoleApp) -> str:
    assert app.main is not None
    return app.main.runs_table.get_cell(RUN, "state").plain


async def test_a_failing_background_worker_is_shown(tmp_path: Path, monkeypatch: Any) -> None:
    """Pins defect 7: an error in the journal worker (and any other worker) is notified with
    what failed, not dropped."""

    def broken(self: ResultsStore) -> list[dict[str, Any]]:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(ResultsStore, "unfinished", broken)
    app = ConsoleApp(load_config(write_config(tmp_path, plan=PLAN)), config_note="test")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: any("journal" in n for n in notifications(app)))
        (shown,) = [n for n in notifications(app) if "journal" in n]
        assert "reading the journal failed" in shown and "Input/output error" in shown
