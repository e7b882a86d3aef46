"""How far a plan and its parallel groups are, folded from the engine's own events: the one
source of the figures the console's group rows, its notice bar and the batch printer show.

- A group's **live rate** is the sum of its live shards' RunProgress.rate (the shards run side
  by side, so their rates add); its **ETA** is the last shard's (the group ends when its
  slowest shard does). Either is missing while one live shard has none yet.
- The **plan** is so many runs done of PlanStarted.runs, in stage i of n, and its **ETA**
  the time left when every stage still to go can say one: the stages run one after another,
  so their times add; within a stage of runs each node runs its runs one after another
  (their ETAs add) and the nodes go side by side (the stage lasts as long as its slowest
  node). A run that goes says RunProgress.eta_s, a run not started the ETA the settings probe
  found before launch (RunSettingsResolved.eta_s). A group stage not sized yet, a QPS search
  or a fleet stage cannot say one: then the plan's ETA is missing, and `eta_missing` says why.

Pure (no I/O, no clock): the same events give the same figures wherever they are folded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engine import units
from engine.events import (
    Event,
    GroupFinished,
    GroupStarted,
    PlanFinished,
    PlanStarted,
    QpsSearchFinished,
    RunFinished,
    RunProgress,
    RunQueued,
    RunSettingsResolved,
    RunStateChanged,
    StageStarted,
)
from engine.model import RunSpec, RunState

RERUN = re.compile(r"\.r\d+$")  # a re-run's id: the run's, then .r1, .r2 (Orchestrator.rerun)


@dataclass(frozen=True)
class GroupProgress:
    """A group's live figures (None: missing, see the module's docstring)."""

    group_id: str
    rate: float | None  # samples/s: the sum of the live shards' live rates
    eta_s: float | None  # the last shard's ETA
    live_shards: int


@dataclass(frozen=True)
class PlanProgress:
    done: int  # runs ended (succeeded, failed or cancelled)
    total: int  # PlanStarted.runs
    stage: int  # 1-based place of the current stage in the plan; 0 before the first
    stages: int
    stage_name: str
    eta_s: float | None
    eta_missing: str = ""  # why there is no ETA (when eta_s is None)
    finished: bool = False

    def line(self) -> str:
        """The plan in one line, as the notice bar and the batch printer both say it."""
        head = "plan done" if self.finished else "plan"
        parts = [f"{head}: {self.done}/{self.total} runs done"]
        if self.stage and not self.finished:
            parts.append(f"stage {self.stage}/{self.stages} {self.stage_name}")
        if not self.finished:
            eta = units.duration(self.eta_s)
            if self.eta_s is None and self.eta_missing:
                eta += f" ({self.eta_missing})"
            parts.append(f"plan ETA {eta}")
        return ", ".join(parts)


@dataclass
class _Run:
    spec: RunSpec
    live: bool = False
    ended: bool = False
    rate: float | None = None
    eta_s: float | None = None  # RunProgress.eta_s while it goes
    planned_eta_s: float | None = None  # RunSettingsResolved.eta_s, before it starts


@dataclass
class PlanProgressTracker:
    """Folds events (`apply`) into GroupProgress and PlanProgress. One per listener: the TUI
    folds the bridge's batches, the batch printer every event; both get the same figures."""

    runs: dict[str, _Run] = field(default_factory=dict)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # group id -> shard ids
    group_stage: dict[str, str] = field(default_factory=dict)  # stage name -> group id
    stage_list: tuple[tuple[str, str], ...] = ()  # (name, kind) of the plan's stages
    total: int = 0
    stage_index: int = -1  # into stage_list
    started: bool = False
    finished: bool = False
    in_plan: set[str] = field(default_factory=set)  # run ids this plan queued
    done: set[str] = field(default_factory=set)
    searches_done: set[str] = field(default_factory=set)  # stage names

    def apply(self, ev: Event) -> None:
        match ev:
            case PlanStarted():
                self.__dict__.update(PlanProgressTracker().__dict__)  # a new plan: afresh
                self.started = True
                self.total = ev.runs
                self.stage_list = ev.stage_list or tuple(("", "") for _ in range(ev.stages))
            case StageStarted():
                names = [n for n, _ in self.stage_list]
                if ev.name in names:
                    self.stage_index = names.index(ev.name)
                else:  # a PlanStarted without its stage list (recorded by 0.1.0)
                    self.stage_index += 1
                    stages = list(self.stage_list)
                    if self.stage_index < len(stages):
                        stages[self.stage_index] = (ev.name, ev.kind)
                        self.stage_list = tuple(stages)
            case RunQueued():
                self.runs[ev.run.run_id] = _Run(ev.run)
                if self.started and not self.finished:
                    self.in_plan.add(ev.run.run_id)
            case RunSettingsResolved():
                if ev.run_id in self.runs:
                    self.runs[ev.run_id].planned_eta_s = ev.eta_s
            case RunStateChanged():
                run = self.runs.get(ev.run_id)
                if run is not None:
                    run.ended = ev.state.terminal
                    run.live = not run.ended and ev.state not in (RunState.QUEUED, RunState.PENDING)
            case RunProgress():
                run = self.runs.get(ev.run_id)
                if run is not None and not run.ended:
                    run.rate, run.eta_s = ev.rate, ev.eta_s
            case RunFinished():
                run = self.runs.get(ev.run_id)
                if run is not None:
                    run.live, run.ended, run.rate, run.eta_s = False, True, None, 0.0
                if ev.run_id in self.in_plan and self._counts(ev.run_id):
                    self.done.add(ev.run_id)
            case GroupStarted():
                self.groups[ev.group_id] = tuple(s.run_id for s in ev.shards)
                self.group_stage[ev.name] = ev.group_id
                for spec in ev.shards:
                    self.runs.setdefault(spec.run_id, _Run(spec))
                    if self.started and not self.finished:
                        self.in_plan.add(spec.run_id)
            case GroupFinished():
                for s in self.groups.get(ev.group_id, ()):
                    if s in self.runs:
                        self.runs[s].ended = True
            case QpsSearchFinished():
                self.searches_done.add(ev.result.name)
            case PlanFinished():
                self.finished = True
            case _:
                pass

    def _counts(self, run_id: str) -> bool:
        """Whether a run that ended is one of PlanStarted.runs: a run of one of the plan's
        stages, not a group's calibration run (its stage is `<group>-calibration`) nor a
        re-run (`<run>.r1`); a QPS search's steps count as one run, when the search ends."""
        stage = self.runs[run_id].spec.stage
        known = {n for n, _ in self.stage_list if n}
        if RERUN.search(run_id) or (known and stage not in known):
            return False
        return self._kind(stage) != "qps_search"

    def _kind(self, stage: str) -> str:
        return next((k for n, k in self.stage_list if n == stage), "")

    # --- figures ------------------------------------------------------------------------------

    def group(self, group_id: str) -> GroupProgress | None:
        shards = [self.runs[s] for s in self.groups.get(group_id, ()) if s in self.runs]
        if not shards:
            return None
        live = [r for r in shards if r.live]
        left = [r for r in shards if not r.ended]
        rates = [r.rate for r in live]
        etas = [r.eta_s for r in left]
        return GroupProgress(
            group_id,
            sum(rates) if live and None not in rates else None,  # type: ignore[arg-type]
            (max(etas) if None not in etas else None) if left else 0.0,  # type: ignore[type-var]
            len(live),
        )

    def plan(self) -> PlanProgress | None:
        """None before a plan started (or when this listener joined after PlanStarted)."""
        if not self.started:
            return None
        searches = sum(
            1 for n, k in self.stage_list if k == "qps_search" and n in self.searches_done
        )
        done = min(self.total, len(self.done) + searches)
        index = max(self.stage_index, 0)
        name = self.stage_list[index][0] if self.stage_list and self.stage_index >= 0 else ""
        eta, missing = (0.0, "") if self.finished else self._eta(index)
        return PlanProgress(
            done,
            self.total,
            self.stage_index + 1,
            len(self.stage_list),
            name,
            eta if not self.finished else None,
            missing,
            self.finished,
        )

    def _eta(self, index: int) -> tuple[float | None, str]:
        total = 0.0
        for name, kind in self.stage_list[index:]:
            eta, missing = self._stage_eta(name, kind)
            if eta is None:
                return None, missing
            total += eta
        return total, ""

    def _stage_eta(self, name: str, kind: str) -> tuple[float | None, str]:
        if kind == "group":
            g = self.group_stage.get(name)
            if g is None:
                return None, f"group {name} not sized yet"
            p = self.group(g)
            return (
                (p.eta_s, "")
                if p is not None and p.eta_s is not None
                else (None, f"group {name}: a shard has no ETA yet")
            )
        if kind == "qps_search":
            if name in self.searches_done:
                return 0.0, ""
            return None, f"QPS search {name}: steps unknown"
        runs = [
            r for r in self.runs.values() if r.spec.stage == name and r.spec.run_id in self.in_plan
        ]
        if not runs:
            return None, (f"{kind} {name}: runs not known yet" if name else "stages not known")
        per_node: dict[str, float] = {}
        for r in runs:
            if r.ended:
                continue
            eta = r.eta_s if r.live else r.planned_eta_s
            if eta is None:
                why = "no rate yet" if r.live else "node not measured yet"
                return None, f"{r.spec.run_id}: {why}"
            per_node[r.spec.node] = per_node.get(r.spec.node, 0.0) + eta
        return max(per_node.values(), default=0.0), ""
