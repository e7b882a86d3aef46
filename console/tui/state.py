"""What the console shows, folded from engine events: runs, groups, nodes, log tails and the
chart series. Pure Python (no Textual), so it is tested without an app.

Every figure here was computed by the engine and arrived in an event (RunProgress.rate and
.eta_s, the summaries' wall throughput and validity); the state only keeps the latest one.
`apply` returns what changed, so the widgets repaint only that.

Past the ~450-line guide: one `apply` over every event type, so that the fold of a run, its
node and its group cannot disagree; the rows' look is `console.tui.rows`', the plan figures
`engine.run.plan_progress`'s.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from console.format import PLANNED
from console.tui.rows import Changes, GpuView, GroupRow, NodeView, RunRow
from engine.events import (
    Event,
    GroupFinished,
    GroupStarted,
    NodeChecked,
    NodeStateChanged,
    Notice,
    PlanFinished,
    PlanStarted,
    QpsSearchFinished,
    QpsSearchStepped,
    ReportsFailed,
    ReportsPending,
    ReportsWritten,
    RunFinished,
    RunLog,
    RunProgress,
    RunProgressSources,
    RunQueued,
    RunSettingsResolved,
    RunStateChanged,
    ServiceLog,
    ServiceStateChanged,
    SimulatedSpeedsNotice,
    StageStarted,
    TelemetrySampled,
)
from engine.fleet.specs import FLEET_NODE
from engine.model import Config, GpuSample, RunSpec, RunState
from engine.results.summary import group_label
from engine.run.plan_progress import PlanProgressTracker

LOG_LINES = 2000  # per run, in memory; the full logs are in the run dir
SERIES_POINTS = 600  # points kept per chart series


def stderr_line(line: str) -> str:
    """How a stderr line is told apart in the merged tail (the Log widget has no markup)."""
    return f"[stderr] {line}"


class ConsoleState:
    """The console's model: built from the config, then folded from events.

    `clock` gives the x of chart points that carry no time of their own (RunProgress); tests
    pass a fixed clock so that a picture is reproducible.
    """

    def __init__(self, config: Config | None, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.t0 = clock()
        self.runs: dict[str, RunRow] = {}
        self.groups: dict[str, GroupRow] = {}
        self.nodes: dict[str, NodeView] = {}
        self.logs: dict[str, deque[str]] = {}
        # Every run's and service's lines in the order they came, as (node, line): the log
        # pane's merged view.
        self.merged_log: deque[tuple[str, str]] = deque(maxlen=LOG_LINES)
        self.order: list[str] = []  # top-level table keys: run ids and group ids
        self.throughput: dict[str, deque[tuple[float, float]]] = {}  # node -> (t, samples/s)
        self.utilization: dict[str, deque[tuple[float, float]]] = {}  # "node/gpuN" -> (t, %)
        self.telemetry_t0: float | None = None
        self.plan_running = False
        self.plan_note = ""
        self.reports_note = ""  # the reports writer's: pending, written (N files), failed
        self.last_notice: Notice | None = None
        self.simulated = bool(config and config.simulated)
        # The plan's and the groups' progress, as the engine figures it (the batch printer
        # folds the same events into the same figures).
        self.progress = PlanProgressTracker()
        if config is not None:
            self._from_config(config)

    def _from_config(self, config: Config) -> None:
        for name, node in config.nodes.items():
            self.nodes[name] = NodeView(name, simulated=node.simulated, transport=node.transport)
        for stage in config.plan.stages:
            for spec in stage.runs:
                self.runs[spec.run_id] = RunRow.from_spec(spec)
                self.order.append(spec.run_id)
            if stage.fleet is not None:
                from engine.fleet.specs import fleet_runs

                for spec in fleet_runs(stage.fleet):
                    self.runs[spec.run_id] = RunRow.from_spec(spec)
                    self.order.append(spec.run_id)
            if stage.group is not None:
                g = stage.group
                self.groups[g.group_id] = GroupRow(
                    group_id=g.group_id,
                    name=g.name,
                    nodes=g.nodes,
                    benchmark=g.benchmark,
                    scenario=str(g.scenario),
                    mode=str(g.mode),
                    total_samples=g.total_samples,
                )
                self.order.append(g.group_id)

    # --- queries ----------------------------------------------------------------------------

    @property
    def live_runs(self) -> list[str]:
        return [r.run_id for r in self.runs.values() if r.live]

    def group_of(self, key: str) -> GroupRow | None:
        """The group a table key names: a group row, or one of its shards."""
        if key in self.groups:
            return self.groups[key]
        run = self.runs.get(key)
        if run is not None and run.group_id is not None:
            return self.groups.get(run.group_id)
        return None

    def table_keys(self) -> list[str]:
        """Row keys in display order: each group row is followed by its shards."""
        keys: list[str] = []
        for key in self.order:
            keys.append(key)
            if key in self.groups:
                keys.extend(s for s in self.groups[key].shards if s in self.runs)
        return keys

    def notice_line(self, config_source: str) -> str:
        """The notice bar: the plan's progress while one runs (engine.run.plan_progress, the
        batch printer's line), SIMULATED when node speeds are, the config, the latest note
        and notice."""
        parts = []
        plan = self.progress.plan()
        if plan is not None and not plan.finished:
            parts.append(plan.line())  # first: what an 80-column bar must not cut
        if self.simulated:
            parts.append("node speeds SIMULATED (demo harness)")
        parts.append(f"config: {config_source}")
        if self.plan_note:
            parts.append(self.plan_note)
        if self.reports_note:
            parts.append(self.reports_note)
        if self.last_notice is not None:
            parts.append(self.last_notice.message)
        return " · ".join(parts)

    def group_validity(self, group: GroupRow) -> str | None:
        """VALID when every shard's LoadGen run is VALID, INVALID when one is not, else None."""
        found = [self.runs[s].validity for s in group.shards if s in self.runs]
        if not found or any(v is None for v in found):
            return "INVALID" if "INVALID" in found else None
        return "VALID" if all(v == "VALID" for v in found) else "INVALID"

    def group_progress(self, group: GroupRow) -> tuple[int | None, int | None]:
        """Completed and total samples over the group's shards (a count, not a figure)."""
        shards = [self.runs[s] for s in group.shards if s in self.runs]
        if not shards or any(s.total is None for s in shards):
            return None, None
        return sum(s.completed or 0 for s in shards), sum(s.total or 0 for s in shards)

    # --- folding ----------------------------------------------------------------------------

    def apply_all(self, events: Iterable[Event]) -> Changes:
        changes = Changes()
        for ev in events:
            self.apply(ev, changes)
        return changes

    def apply(self, ev: Event, changes: Changes) -> None:
        self.progress.apply(ev)
        match ev:
            case RunQueued():
                self._queued(ev.run, changes)
            case RunStateChanged():
                row = self.runs.get(ev.run_id)
                if row is None:
                    return
                if row.node == FLEET_NODE and ev.state == RunState.RUNNING:
                    self.plan_note = f"fleet {row.run_id}: {row.label}"
                    changes.header = True
                row.state = ev.state.value
                row.detail = ev.detail
                row.run_dir = ev.run_dir or row.run_dir
                changes.runs.add(ev.run_id)
                self._group_state(row.group_id, changes)
                self._derive_node(row.node, changes)
            case RunProgress():
                row = self.runs.get(ev.run_id)
                if row is None:
                    return
                row.completed, row.total = ev.completed, ev.total
                row.eta_s, row.rate = ev.eta_s, ev.rate
                changes.runs.add(ev.run_id)
                if row.group_id:
                    changes.groups.add(row.group_id)
                if ev.rate is not None:
                    self._point(self.throughput, row.node, self.clock() - self.t0, ev.rate)
                    changes.chart = True
            case RunSettingsResolved():
                row = self.runs.get(ev.run_id)
                if row is None:
                    return
                row.settings = ev
                row.issued = ev.issued
                if ev.issued is not None and row.total is None:
                    row.total = ev.issued
                changes.runs.add(ev.run_id)
            case RunProgressSources():
                row = self.runs.get(ev.run_id)
                if row is not None:
                    row.progress_sources = ev.sentence
                    row.progress_live = ev.live
                    changes.runs.add(ev.run_id)
            case RunLog():
                lines = ev.lines if ev.stream == "stdout" else [stderr_line(x) for x in ev.lines]
                buf = self.logs.setdefault(ev.run_id, deque(maxlen=LOG_LINES))
                buf.extend(lines)
                changes.logs.setdefault(ev.run_id, []).extend(lines)
                row = self.runs.get(ev.run_id)
                self._merge(row.node if row else ev.run_id, lines, changes)
            case ServiceLog():
                self._fleet_log([f"[{ev.node}] {x}" for x in ev.lines], changes)
                self._merge(ev.node, ev.lines, changes)
            case ServiceStateChanged():
                detail = f" — {ev.detail}" if ev.detail else ""
                said = f"service {ev.service}: {ev.state}{detail}"
                self._fleet_log([f"[{ev.node}] {said}"], changes)
                self._merge(ev.node, [said], changes)
            case RunFinished():
                self._finished(ev, changes)
            case GroupStarted():
                self._group_started(ev, changes)
            case QpsSearchStepped() | QpsSearchFinished():
                # The search's steps are runs in the table; its progress and outcome are
                # notices (the bar and a toast), in the words the batch lines use.
                if isinstance(ev, QpsSearchFinished):
                    text = ev.result.line()
                else:
                    text = f"qps search {ev.result.name}: {ev.result.steps[-1].line()}"
                notice = Notice(text, "info")
                self.last_notice = notice
                changes.notices.append(notice)
                changes.header = True
            case GroupFinished():
                g = self.groups.get(ev.group_id)
                if g is not None:
                    g.state = "finished"
                    g.group_dir = ev.group_dir
                    g.summary = ev.summary
                    changes.groups.add(ev.group_id)
            case NodeStateChanged():
                node = self._node(ev.node)
                node.checked = ev.state.value
                node.detail = ev.detail
                if ev.state.value in ("unreachable", "link lost") and ev.detail:
                    node.last_error = ev.detail
                self._derive_node(ev.node, changes)
            case NodeChecked():
                node = self._node(ev.facts.node)
                node.facts = ev.facts
                if ev.facts.error:
                    node.last_error = ev.facts.error
                for info in ev.facts.gpus:
                    gpu = node.gpus.setdefault(info.index, GpuView(info.index))
                    gpu.name = info.name
                    gpu.memory_total_mib = info.memory_total_mib
                    gpu.memory_used_mib = info.memory_used_mib
                    if info.utilization_pct is not None:
                        gpu.utilization_pct = info.utilization_pct
                changes.nodes.add(ev.facts.node)
            case TelemetrySampled():
                self._telemetry(ev, changes)
            case PlanStarted():
                self.plan_running = True
                self.simulated = self.simulated or ev.simulated
                self.plan_note = ""  # the plan's progress line says it (notice_line)
                self.reports_note = ""
                changes.header = True
            case StageStarted():
                self.plan_note = ""
                changes.header = True
            case PlanFinished():
                self.plan_running = False
                self.plan_note = (
                    f"plan done: {len(ev.succeeded)} succeeded, {len(ev.failed)} failed, "
                    f"{len(ev.cancelled)} cancelled"
                )
                changes.plan_finished = ev
                changes.header = True
            case Notice():
                # The notice bar says SIMULATED for as long as it holds: the sentence itself
                # is a toast only, never the bar's latest notice.
                if not isinstance(ev, SimulatedSpeedsNotice):
                    self.last_notice = ev
                changes.notices.append(ev)
                changes.header = True
            case ReportsPending():
                self.reports_note = "reports pending"
                changes.header = True
            case ReportsWritten():
                changes.reports = tuple(str(p) for p in ev.paths)
                self.reports_note = f"reports: {len(ev.paths)} files in {ev.reports_dir or '?'}"
                changes.header = True
            case ReportsFailed():
                self.reports_note = f"reports not written: {ev.sentence}"
                changes.header = True
            case _:
                pass

    def _merge(self, node: str, lines: Iterable[str], changes: Changes) -> None:
        entries = [(node, x) for x in lines]
        self.merged_log.extend(entries)
        changes.merged.extend(entries)

    def _fleet_log(self, lines: list[str], changes: Changes) -> None:
        """Endpoint services' lines go to the log of the fleet run being started or run."""
        live = [r.run_id for r in self.runs.values() if r.node == FLEET_NODE and r.live]
        if not live:
            return
        run_id = live[-1]
        self.logs.setdefault(run_id, deque(maxlen=LOG_LINES)).extend(lines)
        changes.logs.setdefault(run_id, []).extend(lines)

    def _queued(self, spec: RunSpec, changes: Changes) -> None:
        row = self.runs.get(spec.run_id)
        if row is None or row.terminal:
            # A fresh row; a run id seen before (the plan started again) starts over.
            self.runs[spec.run_id] = RunRow.from_spec(spec, RunState.QUEUED.value)
            self.logs.pop(spec.run_id, None)
        else:
            row.state = RunState.QUEUED.value
            row.samples = spec.samples
        changes.runs.add(spec.run_id)
        if row is not None:
            return
        changes.rows_added = True
        group = self.groups.get(spec.group_id or "")
        if group is not None and spec.run_id in group.shards:
            return
        if group is not None and group.state == PLANNED:
            # A shard of a group about to start (RunQueued comes before GroupStarted).
            group.shards = (*group.shards, spec.run_id)
        elif spec.run_id not in self.order:
            self.order.append(spec.run_id)

    def _finished(self, ev: RunFinished, changes: Changes) -> None:
        row = self.runs.get(ev.run_id)
        if row is None:
            return
        s = ev.summary
        row.state = ev.state.value
        row.run_dir = ev.run_dir or row.run_dir
        row.summary = s
        row.regression = ev.regression
        row.validity = s.loadgen.validity
        row.eta_s = None
        if s.samples_processed is not None:
            row.completed = s.samples_processed
            row.total = row.total or s.samples_requested
        row.detail = s.exit.detail or row.detail
        changes.runs.add(ev.run_id)
        changes.finished.append(ev.run_id)
        self._group_state(row.group_id, changes)
        self._derive_node(row.node, changes)

    def _group_started(self, ev: GroupStarted, changes: Changes) -> None:
        g = self.groups.get(ev.group_id)
        first = ev.shards[0] if ev.shards else None
        if g is None:
            g = GroupRow(
                group_id=ev.group_id,
                name=ev.name,
                nodes=tuple(s.node for s in ev.shards),
                benchmark=first.benchmark if first else "",
                scenario=str(first.scenario) if first else "",
                mode=str(first.mode) if first else "",
                total_samples=sum(s.samples for s in ev.shards),
            )
            self.groups[ev.group_id] = g
            # Its shards were queued before the group was announced: the group row takes
            # the place of the first of them, and they move under it.
            ids = {s.run_id for s in ev.shards}
            at = next((i for i, k in enumerate(self.order) if k in ids), len(self.order))
            self.order.insert(at, ev.group_id)
            self.order = [k for k in self.order if k not in ids]
            changes.rows_added = True
        g.state = "running"
        changes.rows_added |= g.shards != tuple(s.run_id for s in ev.shards)
        g.shards = tuple(s.run_id for s in ev.shards)
        g.split, g.split_source = ev.split, ev.split_source
        self.plan_note = f"group {g.name}: {group_label(len(ev.shards))}"
        changes.header = True
        g.summary, g.group_dir = None, None
        for spec in ev.shards:
            if spec.run_id not in self.runs:
                self._queued(spec, changes)
        changes.groups.add(ev.group_id)

    def _group_state(self, group_id: str | None, changes: Changes) -> None:
        if group_id is None or group_id not in self.groups:
            return
        g = self.groups[group_id]
        if g.summary is None and g.shards:
            shards = [self.runs[s] for s in g.shards if s in self.runs]
            g.state = "collecting" if all(s.terminal for s in shards) else "running"
        changes.groups.add(group_id)

    def _node(self, name: str) -> NodeView:
        return self.nodes.setdefault(name, NodeView(name))

    def _derive_node(self, name: str, changes: Changes) -> None:
        """A node's state from the runs live on it, then from the engine's last check."""
        if name == FLEET_NODE:
            return
        node = self._node(name)
        live = [r.run_id for r in self.runs.values() if r.node == name and r.live]
        if live:
            node.state = "link lost" if node.checked == "link lost" else "busy"
            node.current_run = ", ".join(live)
        else:
            node.state = "ready" if node.checked in ("busy", "link lost") else node.checked
            node.current_run = None
        changes.nodes.add(name)

    def _telemetry(self, ev: TelemetrySampled, changes: Changes) -> None:
        node = self._node(ev.node)
        node.telemetry_state = ev.state
        changes.nodes.add(ev.node)
        for sample in ev.samples:
            self._gpu_sample(node, sample)
            if sample.utilization_pct is not None:
                if self.telemetry_t0 is None:
                    self.telemetry_t0 = sample.ts
                key = f"{ev.node}/gpu{sample.gpu}"
                self._point(
                    self.utilization, key, sample.ts - self.telemetry_t0, sample.utilization_pct
                )
                changes.chart = True

    @staticmethod
    def _gpu_sample(node: NodeView, sample: GpuSample) -> None:
        gpu = node.gpus.setdefault(sample.gpu, GpuView(sample.gpu))
        gpu.name = sample.name or gpu.name
        gpu.utilization_pct = sample.utilization_pct
        gpu.memory_used_mib = sample.memory_used_mib
        gpu.memory_total_mib = sample.memory_total_mib or gpu.memory_total_mib
        gpu.temperature_c = sample.temperature_c
        gpu.power_w = sample.power_w
        if sample.utilization_pct is not None:
            gpu.history.append(sample.utilization_pct)

    @staticmethod
    def _point(
        series: dict[str, deque[tuple[float, float]]], key: str, t: float, value: float
    ) -> None:
        series.setdefault(key, deque(maxlen=SERIES_POINTS)).append((t, value))
