"""Typed events the engine publishes, and the bus that fans them out.

The batch printer and the Textual app are two subscribers of the same stream; neither computes
a figure of its own: what they show is carried here, computed once by the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.checks.qps_search import QpsSearchResult
from engine.checks.regression import Regression
from engine.model import GpuSample, NodeFacts, NodeState, RunSpec, RunState
from engine.results.group_schema import GroupSummary
from engine.results.schema import RunSummary


@dataclass(frozen=True)
class Event:
    pass


@dataclass(frozen=True)
class Notice(Event):
    """A sentence for the user (e.g. 'node speeds are simulated')."""

    message: str
    level: str = "info"  # info | warning | error


@dataclass(frozen=True)
class SimulatedSpeedsNotice(Notice):
    """The plan's node speeds are simulated by the demo harness. A front end that says so
    all the time (the console's notice bar) tells this notice apart by its type, not by its
    wording."""

    level: str = "warning"


@dataclass(frozen=True)
class PlanStarted(Event):
    config: str
    runs: int
    stages: int
    simulated: bool
    # (name, kind) of each stage this plan runs, in order (engine.run.plan_progress).
    stage_list: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class StageStarted(Event):
    index: int
    name: str
    kind: str


@dataclass(frozen=True)
class RunQueued(Event):
    run: RunSpec


@dataclass(frozen=True)
class RunStateChanged(Event):
    run_id: str
    node: str
    state: RunState
    detail: str = ""
    run_dir: str | None = None


@dataclass(frozen=True)
class RunProgress(Event):
    """Live progress, from LoadGen's own files or the harness's progress lines.

    `total` is None until known; `eta_s` and `rate` (samples/s so far) are None until they can
    be computed from at least two observations.
    """

    run_id: str
    completed: int
    total: int | None
    eta_s: float | None
    rate: float | None
    source: str  # "trace" | "accuracy-log" | "stdout" | "stderr" | "detail-log" | "none"


@dataclass(frozen=True)
class RunSettingsResolved(Event):
    """What LoadGen will issue for a run, found before launch by probing the node's LoadGen
    with the run's user.conf and scenario (engine/run/loadgen_settings.py).

    `issued` is the count LoadGen will issue (`exact`), or the least it will issue when a
    min_duration keeps it going; None when it could not be found (`sentence` says why).
    `fix_lines` are user.conf lines that make the request hold (checked with a second probe);
    `exact_samples` says mlconsole wrote them into this run's user.conf itself. `eta_s`
    follows from the node's measured rate, named in `eta_basis` (or why there is none).
    """

    run_id: str
    node: str
    requested: int
    issued: int | None
    exact: bool
    holds: bool
    sentence: str
    fix_lines: tuple[str, ...] = ()
    exact_samples: bool = False
    eta_s: float | None = None
    eta_basis: str = ""
    source: str = ""  # whose LoadGen answered: "gpu1 (LoadGen 6.0.17 @ d6147c7eb7)"
    trace_note: str = ""  # the trace's expected size, when the run writes one


@dataclass(frozen=True)
class RunProgressSources(Event):
    """Where a run's live progress will come from, said once before launch; `live` is False
    when nothing will move (and `sentence` says what would make it move)."""

    run_id: str
    sentence: str
    live: bool


@dataclass(frozen=True)
class RunLog(Event):
    run_id: str
    stream: str  # "stdout" | "stderr"
    lines: tuple[str, ...]


@dataclass(frozen=True)
class RunFinished(Event):
    run_id: str
    node: str
    state: RunState
    run_dir: str
    summary: RunSummary  # orchestrator_summary.json as written
    # The run against its node's earlier runs (engine.analysis.regression); None: not judged.
    regression: Regression | None = None


@dataclass(frozen=True)
class GroupStarted(Event):
    group_id: str
    name: str
    shards: tuple[RunSpec, ...]
    split: str
    split_source: str


@dataclass(frozen=True)
class GroupFinished(Event):
    group_id: str
    name: str
    group_dir: str
    summary: GroupSummary  # group_summary.json as written


@dataclass(frozen=True)
class QpsSearchEvent(Event):
    """A QPS search's record changed: `result` is qps_search.json as written."""

    search_id: str
    search_dir: str
    result: QpsSearchResult


@dataclass(frozen=True)
class QpsSearchStepped(QpsSearchEvent):
    """The search ran one step."""


@dataclass(frozen=True)
class QpsSearchFinished(QpsSearchEvent):
    """The search ended: `result` holds its verdict."""


@dataclass(frozen=True)
class ServiceStateChanged(Event):
    """An endpoint service on a node: starting, waiting, ready, reused, failed, stopped."""

    node: str
    service: str
    state: str
    detail: str = ""
    url: str | None = None  # how the controller reaches it (a forward's local port)


@dataclass(frozen=True)
class ServiceLog(Event):
    node: str
    service: str
    stream: str  # "stdout" | "stderr"
    lines: tuple[str, ...]


@dataclass(frozen=True)
class FleetProgressed(Event):
    """A fleet run's live per-endpoint counts (queries done, in flight, up), every ~0.5 s."""

    run_id: str
    completed: int
    failed: int
    retries: int
    output_tokens: int
    endpoints: tuple[tuple[str, int, int, bool], ...]  # (node, queries, in flight, up)


@dataclass(frozen=True)
class NodeStateChanged(Event):
    node: str
    state: NodeState
    detail: str = ""


@dataclass(frozen=True)
class NodeChecked(Event):
    facts: NodeFacts


@dataclass(frozen=True)
class TelemetrySampled(Event):
    node: str
    samples: tuple[GpuSample, ...]
    state: str = "ok"  # ok | no-driver | no-nvidia-smi | stale | error


@dataclass(frozen=True)
class ReportsPending(Event):
    """The reports (every run's, the charts, the pipeline report) will be written after the
    plan's outcome, by the orchestrator's reports writer (engine/run/reports_writer.py)."""

    reports_dir: str


@dataclass(frozen=True)
class ReportsWritten(Event):
    """The reports were rebuilt: `paths` written, `elapsed_s` the writer's time for them."""

    paths: tuple[Path, ...]
    reports_dir: str = ""
    elapsed_s: float | None = None


@dataclass(frozen=True)
class ReportsFailed(Event):
    """A report job failed (`sentence` says which and why); the runs' results are kept."""

    reports_dir: str
    sentence: str


@dataclass(frozen=True)
class PlanFinished(Event):
    ok: bool
    succeeded: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()
    elapsed_s: float = 0.0


Listener = Callable[[Event], None]


@dataclass
class EventBus:
    """Fan-out of events to listeners, called synchronously and in order: publishing never
    blocks the engine, and a listener added before a plan starts sees its first event (the
    console's bridge and the batch printer are both listeners)."""

    _listeners: list[Listener] = field(default_factory=list)

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` with every event from now on; the returned function removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def publish(self, event: Event) -> None:
        for listener in list(self._listeners):
            listener(event)
