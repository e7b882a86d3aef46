"""Issue 13, progress: a plan's and a group's progress (engine.run.plan_progress), folded from
what the real orchestrator publishes while the real LoadGen runs the bundled harness on two
local nodes (speeds simulated): runs done of the plan's, its stage, its ETA (missing while a
group is not sized, then the later shard's), and a group's live rate (its live shards' rates
added). The batch printer prints the same line after each run."""

from __future__ import annotations

import io
import re
from pathlib import Path

from console.batch import BatchPrinter
from engine.events import Event, GroupStarted, PlanFinished, RunFinished, RunProgress
from engine.run.plan_progress import PlanProgress, PlanProgressTracker
from tests.support.config_writer import write_config
from tests.support.plans import run_plan, sweep_then_group


async def test_plan_and_group_progress_follow_the_real_engine(tmp_path: Path) -> None:
    # The sweep's two runs, then a group of 450 + 450: fast (150/s) ends after about 3 s, when
    # slow (60/s) has long had a live rate (said after 2 s of polls), so the plan has an ETA.
    cfg = write_config(
        tmp_path, speeds={"slow": 60, "fast": 150}, plan=sweep_then_group(60, 900, "equal")
    )
    tracker = PlanProgressTracker()
    out = io.StringIO()
    printer = BatchPrinter(out)
    after_run: list[PlanProgress] = []
    rates: list[tuple[float, float]] = []  # (group's rate, its shards' latest rates added)
    latest: dict[str, RunProgress] = {}
    shards: tuple[str, ...] = ()

    def listen(ev: Event) -> None:
        nonlocal shards
        tracker.apply(ev)
        if isinstance(ev, GroupStarted):
            shards = tuple(s.run_id for s in ev.shards)
        if isinstance(ev, RunProgress) and ev.run_id in shards:
            latest[ev.run_id] = ev
            group = tracker.group("s2-pair")
            both = [latest[s].rate for s in shards if s in latest]
            if group is not None and group.rate is not None and group.live_shards == 2:
                assert len(both) == 2 and None not in both
                rates.append((group.rate, sum(both)))  # type: ignore[arg-type]
        if isinstance(ev, RunFinished):
            plan = tracker.plan()
            assert plan is not None
            after_run.append(plan)

    run = await run_plan(cfg, listen, printer, timeout_s=120)
    assert run.outcome.ok

    # A group's live rate is its shards' latest live rates added, whenever both go.
    assert rates and all(abs(g - s) < 1e-9 for g, s in rates)
    # Runs done of the plan's four, one more after each.
    assert [p.done for p in after_run] == [1, 2, 3, 4] and {p.total for p in after_run} == {4}
    first, _, shard_done, _ = after_run
    assert (first.stage, first.stages, first.stage_name) == (1, 2, "sweep")
    # The group is not sized yet (and slow's sweep run may not have had a rate yet): no ETA,
    # and the reason why.
    assert first.eta_s is None
    assert first.eta_missing in ("group pair not sized yet", "s1-slow-60: no rate yet")
    # One shard ended, the other goes: the plan's ETA is that shard's.
    assert (shard_done.stage, shard_done.stage_name) == (2, "pair")
    assert shard_done.eta_s is not None and 0 < shard_done.eta_s < 10
    # The batch printer printed each line, the same text.
    printed = [line.partition("] ")[2] for line in out.getvalue().splitlines()]
    plan_lines = [x for x in printed if x.startswith("plan: ") and "runs done" in x]
    assert plan_lines == [p.line() for p in after_run]
    assert re.fullmatch(r"plan: 3/4 runs done, stage 2/2 pair, plan ETA [0-9.]+ s", plan_lines[2])
    assert isinstance(run.events[-1], PlanFinished) or any(
        isinstance(e, PlanFinished) for e in run.events
    )
    final = tracker.plan()
    assert final is not None and final.finished and final.line() == "plan done: 4/4 runs done"
