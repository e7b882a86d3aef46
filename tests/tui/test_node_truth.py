"""Issue 13, defects 1-3: what the console says about a node and its runs is true. A re-run
never shares a node with another run, a node card says `busy` for as long as a run is live on
it (whatever event came last), and every rate shown names what it is and is the engine's.

Driven with Textual's pilot against the real engine: real LoadGen through the bundled harness
on local nodes whose speeds are simulated (there is no GPU here).
"""

from __future__ import annotations

from pathlib import Path

from console.tui.app import ConsoleApp
from engine.config.load import load_config
from engine.events import Event, RunProgress, RunStateChanged
from engine.model import RunState
from tests.support.config_writer import write_config
from tests.support.pilot import notifications, wait_for

# Two runs after each other on `slow`: a short one (1 s at 60/s), then a long one (8 s).
SHORT_THEN_LONG = (
    '\n[[plan]]\nkind = "sweep"\nname = "sw"\nnodes = ["slow"]\nbenchmark = "demo"\n'
    "samples = [60, 480]\n"
)


def record(app: ConsoleApp) -> list[Event]:
    seen: list[Event] = []
    app.orchestrator.bus.add_listener(seen.append)
    return seen


async def test_rerun_on_a_busy_node_waits_for_the_node(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, speeds={"slow": 60}, plan=SHORT_THEN_LONG)
    app = ConsoleApp(load_config(cfg), config_note="test config", table_interval_s=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        seen = record(app)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state.runs["s1-slow-480"].state == "running")
        assert app.main.runs_table.selected_key == "s1-slow-60"
        await pilot.press("r")
        await wait_for(pilot, lambda: "s1-slow-60.r1" in app.state.runs)
        # The console says the re-run waits, and for what.
        await wait_for(pilot, lambda: any("waits for" in n for n in notifications(app)))
        await wait_for(pilot, lambda: app.state.runs["s1-slow-60.r1"].state == "succeeded")

    def index(predicate: object) -> int:
        return next(i for i, ev in enumerate(seen) if predicate(ev))  # type: ignore[operator]

    long_done = index(
        lambda e: isinstance(e, RunStateChanged)
        and e.run_id == "s1-slow-480"
        and e.state == RunState.SUCCEEDED
    )
    rerun_runs = index(
        lambda e: isinstance(e, RunStateChanged)
        and e.run_id == "s1-slow-60.r1"
        and e.state == RunState.STARTING
    )
    assert rerun_runs > long_done, "the re-run started while s1-slow-480 ran on the same node"
    waits = [
        e for e in seen if isinstance(e, RunStateChanged) and e.run_id == "s1-slow-60.r1"
    ][0]
    assert waits.state == RunState.QUEUED and "s1-slow-480" in waits.detail


async def test_node_says_busy_while_a_run_is_live_even_after_preflight(tmp_path: Path) -> None:
    plan = '\n[[plan]]\nkind = "run"\nnode = "slow"\nbenchmark = "demo"\nsamples = 600\n'
    cfg = write_config(tmp_path, speeds={"slow": 100}, plan=plan)
    app = ConsoleApp(load_config(cfg), config_note="test config", table_interval_s=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state.runs["s1-slow-600"].state == "running")
        # Preflight publishes `ready` for the node it probed: the run is still live on it.
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.nodes["slow"].facts is not None)
        await wait_for(pilot, lambda: app.state.nodes["slow"].checked == "ready")
        assert app.state.runs["s1-slow-600"].live
        assert app.state.nodes["slow"].state == "busy"
        await pilot.pause(0.4)
        card = app.main.nodes_panel.query_one(".node-card")
        assert "slow  busy" in str(card.render())
        assert "s1-slow-600" in str(card.render())
        await wait_for(pilot, lambda: app.state.runs["s1-slow-600"].terminal, timeout=30)
        assert app.state.nodes["slow"].state == "ready"


def test_the_engine_live_rate_is_the_node_speed_and_the_console_shows_it(
    tmp_path: Path,
) -> None:
    """A node simulated at 42 samples/s: the engine's live rate stays near 42 (no 72.3 from a
    poll that came late), and the chart's points are those rates."""
    import asyncio

    from console.tui.state import ConsoleState
    from engine.run.orchestrator import Orchestrator

    plan = (
        '\n[[plan]]\nkind = "sweep"\nname = "sw"\nnodes = ["fast"]\nbenchmark = "demo"\n'
        "samples = [40, 80, 200]\n"
    )
    cfg = write_config(tmp_path, speeds={"fast": 42}, plan=plan)
    # The console's default poll: a line can sit up to half a second before it is read.
    cfg.write_text(cfg.read_text().replace("poll_interval_s = 0.1", "poll_interval_s = 0.5"))
    config = load_config(cfg)
    orch = Orchestrator(config)
    state = ConsoleState(config, clock=lambda: 0.0)
    seen: list[Event] = []
    orch.bus.add_listener(seen.append)
    asyncio.run(orch.run_plan())
    state.apply_all(seen)
    rates = [e.rate for e in seen if isinstance(e, RunProgress) and e.rate is not None]
    assert rates, "no live rate at all"
    assert all(30 <= r <= 55 for r in rates), rates
    assert [v for _, v in state.throughput["fast"]] == rates
