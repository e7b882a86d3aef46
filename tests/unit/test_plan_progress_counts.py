"""engine.run.plan_progress counts the plan's own runs: a group's calibration runs and re-runs
end during a plan but are not among PlanStarted.runs, so they are not `done` (a plan of 3 must
never read 3/3 while its group still runs); a QPS search counts once, when it ends."""

from __future__ import annotations

from engine.events import PlanStarted, RunFinished, RunQueued, StageStarted
from engine.model import Mode, RunSpec, RunState, Scenario
from engine.results.schema import ExitRecord
from engine.run.plan_progress import PlanProgressTracker
from tests.support.results_builder import ended_summary


def spec(run_id: str, stage: str, node: str = "slow") -> RunSpec:
    return RunSpec(run_id=run_id, node=node, benchmark="demo", scenario=Scenario.OFFLINE,
                   mode=Mode.PERFORMANCE, samples=10, stage=stage)  # fmt: skip


def finished(run_id: str) -> RunFinished:
    summary = ended_summary(ExitRecord(RunState.SUCCEEDED, 0, ""))
    return RunFinished(run_id, "slow", RunState.SUCCEEDED, "", summary)


def test_calibration_runs_and_reruns_are_not_the_plans_runs() -> None:
    t = PlanProgressTracker()
    t.apply(PlanStarted("c.toml", 3, 2, True, (("sweep", "sweep"), ("pair", "group"))))
    t.apply(RunQueued(spec("s1-slow-10", "sweep")))
    t.apply(StageStarted(0, "sweep", "sweep"))
    t.apply(finished("s1-slow-10"))
    t.apply(RunQueued(spec("s1-slow-10.r1", "sweep")))  # a re-run, while the plan goes
    t.apply(finished("s1-slow-10.r1"))
    t.apply(StageStarted(1, "pair", "group"))
    for node in ("slow", "fast"):
        t.apply(RunQueued(spec(f"s2-pair-calibrate-{node}", "pair-calibration", node)))
        t.apply(finished(f"s2-pair-calibrate-{node}"))
    plan = t.plan()
    assert plan is not None and (plan.done, plan.total) == (1, 3)
    assert plan.line() == (
        "plan: 1/3 runs done, stage 2/2 pair, plan ETA — (group pair not sized yet)"
    )
