"""The plan's own lines in `results/journal.jsonl`, and the plan's state read back from them.

Run lines (`started` / `finished`, engine.results.store) say which runs may still be going on
their nodes. They do not say which plan those runs belong to, which of its stages were done, or
that a group's shards were sized and its dir made: a console killed mid-group left its shards
running with nobody to write their group_summary.json, and the stages after it never ran. These
lines hold that state, so that `attach` (or a restarted console) can finish the group and run
the stages that remain, skipping the finished ones.

Lines, all with `plan_id`::

    {"event": "plan", "plan_id", "config", "stages": [names], "t"}
    {"event": "stage_started" | "stage_finished", "plan_id", "index", "name", "t"}
    {"event": "group_started", "plan_id", "group_id", "name", "group_dir", "split",
     "split_source", "shards": [RunSpec JSON], "t"}
    {"event": "group_finished", "plan_id", "group_id", "group_dir", "t"}
    {"event": "plan_finished", "plan_id", "state": "done" | "cancelled", "t"}

A plan's runs are the run lines after its `plan` line (a console runs one plan at a time).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.events import RunFinished
from engine.model import RunSpec
from engine.results.schema import (
    RunSummary,
    SummaryUnreadable,
    read_run_summary,
    spec_from_json,
    spec_to_json,
)
from engine.results.store import check_component

PLAN, PLAN_FINISHED = "plan", "plan_finished"
STAGE_STARTED, STAGE_FINISHED = "stage_started", "stage_finished"
GROUP_STARTED, GROUP_FINISHED = "group_started", "group_finished"


def new_plan_id(t: float | None = None) -> str:
    t = time.time() if t is None else t
    return f"plan-{time.strftime('%Y%m%d_%H%M%S', time.localtime(t))}-{os.getpid()}"


def plan_line(plan_id: str, config: str, stages: Iterable[str]) -> dict[str, Any]:
    return {
        "event": PLAN,
        "plan_id": plan_id,
        "config": config,
        "stages": list(stages),
        "t": time.time(),
    }


def stage_line(event: str, plan_id: str, index: int, name: str) -> dict[str, Any]:
    return {"event": event, "plan_id": plan_id, "index": index, "name": name, "t": time.time()}


def plan_finished_line(plan_id: str, state: str) -> dict[str, Any]:
    return {"event": PLAN_FINISHED, "plan_id": plan_id, "state": state, "t": time.time()}


@dataclass(frozen=True)
class GroupRecord:
    """A group whose shards were sized and whose dir was made (a `group_started` line)."""

    group_id: str
    name: str
    group_dir: str  # the dir's name under the results dir
    split: str
    split_source: str
    shards: tuple[RunSpec, ...]

    def to_json(self, plan_id: str) -> dict[str, Any]:
        return {
            "event": GROUP_STARTED,
            "plan_id": plan_id,
            "group_id": self.group_id,
            "name": self.name,
            "group_dir": self.group_dir,
            "split": self.split,
            "split_source": self.split_source,
            "shards": [spec_to_json(s) for s in self.shards],
            "t": time.time(),
        }

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> GroupRecord:
        """ValueError (one sentence) when the line lacks what finishing the group needs."""
        try:
            shards = entry["shards"]
            if not isinstance(shards, list):
                raise TypeError("shards")
            return cls(
                group_id=str(entry["group_id"]),
                name=str(entry["name"]),
                group_dir=check_component(str(entry["group_dir"]), "group dir"),
                split=str(entry.get("split") or ""),
                split_source=str(entry.get("split_source") or ""),
                shards=tuple(spec_from_json(s) for s in shards),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a journal 'group_started' line (no {exc})") from exc


def group_finished_line(plan_id: str, group_id: str, group_dir: str) -> dict[str, Any]:
    return {
        "event": GROUP_FINISHED,
        "plan_id": plan_id,
        "group_id": group_id,
        "group_dir": group_dir,
        "t": time.time(),
    }


@dataclass
class PlanRecord:
    """An unfinished plan as the journal has it."""

    plan_id: str
    config: str
    stages: tuple[str, ...]
    finished_stages: set[str] = field(default_factory=set)
    started_stages: set[str] = field(default_factory=set)
    groups: dict[str, GroupRecord] = field(default_factory=dict)  # started, not finished
    finished_groups: set[str] = field(default_factory=set)
    started_runs: dict[str, str] = field(default_factory=dict)  # run_id -> run dir name
    finished_runs: dict[str, str] = field(default_factory=dict)  # run_id -> run dir name
    problems: list[str] = field(default_factory=list)

    @property
    def remaining_stages(self) -> tuple[str, ...]:
        """The plan's stages not finished, in plan order (a started one included)."""
        return tuple(s for s in self.stages if s not in self.finished_stages)

    def describe(self) -> str:
        """One sentence: which stages are done and which remain."""
        done = [s for s in self.stages if s in self.finished_stages]
        left = self.remaining_stages
        return (
            f"plan {self.plan_id} ({self.config or 'config unknown'}): "
            f"{len(done)} of {len(self.stages)} stages finished"
            + (f" ({', '.join(done)})" if done else "")
            + (f"; remaining: {', '.join(left)}" if left else "")
        )


def unfinished_plan(entries: Iterable[Mapping[str, Any]]) -> PlanRecord | None:
    """The last plan the journal started, unless it finished (None then, or when there is
    none). Lines of another shape are passed over; a group line that cannot be read is named
    in `problems`."""
    plan: PlanRecord | None = None
    for e in entries:
        if not isinstance(e, Mapping):
            continue
        event = e.get("event")
        if event == PLAN:
            stages = e.get("stages")
            plan = PlanRecord(
                plan_id=str(e.get("plan_id") or ""),
                config=str(e.get("config") or ""),
                stages=tuple(str(s) for s in stages) if isinstance(stages, list) else (),
            )
            continue
        if plan is None:
            continue
        run_dir = e.get("run_dir")
        if event == "started" and isinstance(run_dir, str):
            plan.started_runs[str(e.get("run_id"))] = run_dir
            continue
        if event == "finished" and isinstance(run_dir, str):
            plan.finished_runs[str(e.get("run_id"))] = run_dir
            continue
        if e.get("plan_id") != plan.plan_id:
            continue
        if event == PLAN_FINISHED:
            plan = None
        elif event == STAGE_STARTED:
            plan.started_stages.add(str(e.get("name")))
        elif event == STAGE_FINISHED:
            plan.finished_stages.add(str(e.get("name")))
        elif event == GROUP_STARTED:
            try:
                g = GroupRecord.from_json(e)
            except ValueError as exc:
                plan.problems.append(f"journal group {e.get('group_id')}: {exc}")
                continue
            plan.groups[g.group_id] = g
        elif event == GROUP_FINISHED:
            gid = str(e.get("group_id"))
            plan.groups.pop(gid, None)
            plan.finished_groups.add(gid)
    return plan


def recorded_shards(
    root: Path, group: GroupRecord, plan: PlanRecord, followed: Mapping[str, RunSummary]
) -> dict[str, RunSummary]:
    """The summaries a group's shards have already: followed now (`followed`), or finished
    before the console went (read from their run dirs). A shard with neither is still to run."""
    out: dict[str, RunSummary] = {}
    for spec in group.shards:
        if spec.run_id in followed:
            out[spec.run_id] = followed[spec.run_id]
        elif (run_dir := plan.finished_runs.get(spec.run_id)) is not None:
            if (summary := _recorded(root, run_dir)) is not None:
                out[spec.run_id] = summary
    return out


def recorded_outcomes(root: Path, plan: PlanRecord) -> list[RunFinished]:
    """A RunFinished for each run of `plan` that finished before this console started, from
    its recorded summary: what a restarted console shows for them."""
    out = []
    for run_id, run_dir in plan.finished_runs.items():
        s = _recorded(root, run_dir)
        if s is not None and s.node is not None and s.state is not None:
            out.append(RunFinished(run_id, s.node, s.state, str(root / run_dir), s))
    return out


def _recorded(root: Path, run_dir: str) -> RunSummary | None:
    """The summary a finished run left in its dir; None when it cannot be read (the run then
    counts as not recorded: a shard runs again, a restarted console does not show it)."""
    try:
        return read_run_summary(root / run_dir)
    except SummaryUnreadable:
        return None


def plans_of_runs(entries: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Which plan each run dir belongs to: the plan line the journal wrote last before the
    run's `started` line (a console runs one plan at a time). Runs started before any plan
    line (journals of mlconsole 0.1.0) are left out: their plan is unknown."""
    out: dict[str, str] = {}
    plan_id: str | None = None
    for e in entries:
        event = e.get("event")
        if event == PLAN:
            plan_id = str(e.get("plan_id") or "") or None
        elif event == "started" and plan_id and isinstance(e.get("run_dir"), str):
            out[str(e["run_dir"])] = plan_id
    return out
