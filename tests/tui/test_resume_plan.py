"""A console restarted after an earlier one was SIGKILLed mid-plan shows the plan as it stands
(a finished run is `succeeded`, not `planned`) and `s` offers to resume it, skipping finished
stages, instead of starting it over. The earlier console is a real `mlconsole --batch`
subprocess; the nodes are local, running the bundled LoadGen harness (simulated speeds)."""

from __future__ import annotations

import pytest

from console.tui.app import ConsoleApp
from console.tui.screens.confirm import ConfirmScreen
from engine.config.load import load_config
from tests.support.cli import journal, summaries
from tests.support.config_writer import write_config
from tests.support.killed_console import batch_killed_when
from tests.support.pilot import wait_for
from tests.support.plans import plan_table

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

THREE_STAGES = "".join(
    plan_table("run", name=name, node=node, benchmark="demo", samples=samples)
    for name, node, samples in (
        ("first", "fast", 30),
        ("second", "slow", 240),
        ("third", "fast", 40),
    )
)


async def test_a_restarted_console_shows_the_plan_and_resumes_it(tmp_path) -> None:  # noqa: ANN001
    cfg = write_config(tmp_path, speeds={"slow": 60, "fast": 200}, plan=THREE_STAGES)
    results = tmp_path / "results"
    batch_killed_when(cfg, results, started=2, collected=1)
    app = ConsoleApp(load_config(cfg), config_note="test config")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.state.runs["s1-fast-30"].state == "succeeded")
        assert app.state.runs["s3-fast-40"].state == "planned"
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#resume")
        await wait_for(
            pilot, lambda: app.state.runs["s3-fast-40"].state == "succeeded", timeout=90
        )
        assert app.state.runs["s2-slow-240"].state == "succeeded"
    runs = summaries(results)
    assert set(runs) == {"s1-fast-30", "s2-slow-240", "s3-fast-40"}
    started = [e["run_id"] for e in journal(results) if e["event"] == "started"]
    assert sorted(started) == ["s1-fast-30", "s2-slow-240", "s3-fast-40"]  # none run twice
