"""The rows and views the console's widgets show (a run, a group, a node and its GPUs) and the
`Changes` one batch of events made. Plain dataclasses, filled in by `console.tui.state`'s
ConsoleState; the widgets read them and never write.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from console.format import PLANNED
from engine.checks.regression import Regression
from engine.events import Notice, PlanFinished, RunSettingsResolved
from engine.model import TERMINAL_STATES, NodeFacts, RunSpec, RunState
from engine.results.group_schema import GroupSummary
from engine.results.schema import RunSummary

GPU_HISTORY = 24  # samples kept per GPU for the sparkline
_TERMINAL = frozenset(s.value for s in TERMINAL_STATES)


@dataclass
class RunRow:
    """One run (or group shard) as the runs table shows it."""

    run_id: str
    node: str
    benchmark: str
    scenario: str
    mode: str
    samples: int
    stage: str = ""
    label: str = ""
    group_id: str | None = None
    state: str = PLANNED  # a RunState identifier, or PLANNED before the run is queued
    detail: str = ""
    run_dir: str | None = None
    completed: int | None = None
    total: int | None = None
    eta_s: float | None = None
    rate: float | None = None  # the engine's live RunProgress.rate (the table shows it while live)
    validity: str | None = None
    summary: RunSummary | None = None
    # Before launch: what LoadGen will issue (RunSettingsResolved), and where progress will
    # come from (RunProgressSources); the batch lines say the same.
    issued: int | None = None
    settings: RunSettingsResolved | None = None
    progress_sources: str = ""
    progress_live: bool | None = None  # False: nothing will move before the end
    # The run against its node's earlier runs (RunFinished.regression): None when not judged.
    regression: Regression | None = None

    @classmethod
    def from_spec(cls, spec: RunSpec, state: str = PLANNED) -> RunRow:
        return cls(
            run_id=spec.run_id,
            node=spec.node,
            benchmark=spec.benchmark,
            scenario=str(spec.scenario),
            mode=str(spec.mode),
            samples=spec.samples,
            stage=spec.stage,
            label=spec.label,
            group_id=spec.group_id,
            state=state,
        )

    @property
    def live(self) -> bool:
        return self.state not in (PLANNED, RunState.QUEUED.value) and not self.terminal

    @property
    def terminal(self) -> bool:
        return self.state in _TERMINAL


@dataclass
class GroupRow:
    """A parallel group: its shards are ordinary runs; its own figures come from
    GroupFinished.summary."""

    group_id: str
    name: str
    nodes: tuple[str, ...]
    benchmark: str
    scenario: str
    mode: str
    total_samples: int
    state: str = PLANNED
    shards: tuple[str, ...] = ()
    split: str = ""
    split_source: str = ""
    group_dir: str | None = None
    summary: GroupSummary | None = None


@dataclass
class GpuView:
    index: int
    name: str | None = None
    utilization_pct: float | None = None
    memory_used_mib: float | None = None
    memory_total_mib: float | None = None
    # From the last sample, where the telemetry carries them (nvidia-smi, NVML); None: not.
    temperature_c: float | None = None
    power_w: float | None = None
    history: deque[float] = field(default_factory=lambda: deque(maxlen=GPU_HISTORY))


@dataclass
class NodeView:
    """`state` is derived (ConsoleState._derive_node): `busy` (or `link lost`) while a run
    the console knows of is live on the node, else what the engine last checked (`checked`:
    preflight, a service, the end of a run). A preflight's `ready` never hides a live run."""

    name: str
    state: str = "unknown"
    checked: str = "unknown"  # the engine's last NodeStateChanged
    detail: str = ""
    simulated: bool = False
    transport: str = "local"
    facts: NodeFacts | None = None
    telemetry_state: str | None = None  # from the last TelemetrySampled
    gpus: dict[int, GpuView] = field(default_factory=dict)
    last_error: str | None = None
    current_run: str | None = None

    @property
    def telemetry_note(self) -> str | None:
        """Why there is no GPU telemetry, or None when there is some.

        The node's own check (preflight) says it first, and its word stays while it holds:
        the run's sampler asks another way (NVML on the controller, where preflight asked
        nvidia-smi) and may word the same absence otherwise (`no-driver` for
        `no-nvidia-smi`), and a card whose reason changes within seconds reads as a node
        that changes. The sampler's word counts when the check found GPUs (or could not
        tell): a driver gone since, a link lost (`stale`)."""
        if self.gpus and any(g.utilization_pct is not None for g in self.gpus.values()):
            return None
        if self.facts is not None and self.facts.gpu_state not in ("ok", "unknown"):
            return self.facts.gpu_state
        if self.telemetry_state and self.telemetry_state != "ok":
            return self.telemetry_state
        if self.facts is not None and self.facts.gpu_state != "ok":
            return self.facts.gpu_state
        if self.simulated:
            return "simulated node"
        return "not sampled yet"


@dataclass
class Changes:
    """What one batch of events changed; widgets repaint only this."""

    runs: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    nodes: set[str] = field(default_factory=set)
    logs: dict[str, list[str]] = field(default_factory=dict)  # run_id -> new lines
    merged: list[tuple[str, str]] = field(default_factory=list)  # (node, line), in order
    finished: list[str] = field(default_factory=list)  # run ids that ended in this batch
    notices: list[Notice] = field(default_factory=list)
    reports: tuple[str, ...] | None = None
    plan_finished: PlanFinished | None = None
    chart: bool = False
    header: bool = False
    rows_added: bool = False
