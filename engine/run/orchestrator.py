"""Executes a Plan: stages in order; within a stage, each node's runs one after another and the
nodes side by side; a parallel group's shards all at once (sized and calibrated by
`engine.run.groups`); a fleet stage through `engine.fleet.stage`. Cancel and re-attach.

The orchestrator owns the node connections (one per node, reconnected with backoff) and
publishes everything it does on its EventBus; it never prints.

Past the ~450-line guide: the plan loop, its resume from the journal and the re-attach share
the orchestrator's connections, executions and stop flag; the journal's reading is
`engine.results.plan_journal`'s, the groups' work `engine.run.groups`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import LinkLost, NodeUnreachable
from engine.events import (
    EventBus,
    NodeStateChanged,
    Notice,
    PlanFinished,
    PlanStarted,
    RunFinished,
    RunQueued,
    RunSettingsResolved,
    RunStateChanged,
    SimulatedSpeedsNotice,
    StageStarted,
)
from engine.model import (
    Config,
    GroupSpec,
    NodeFacts,
    NodeSpec,
    NodeState,
    RunSpec,
    RunState,
    Stage,
)
from engine.results import plan_journal as pj
from engine.results.plan_journal import PlanRecord
from engine.results.schema import RunSummary
from engine.results.store import ResultsStore
from engine.run.groups import group_measurements, measured_throughputs, plan_shards, run_group
from engine.run.loadgen_settings import SettingsResolver
from engine.run.reports_writer import ReportsWriter
from engine.run.runner import MAY_STILL_RUN, RunContext, RunExecution, TelemetryHandle
from engine.transport import open_transport
from engine.transport.base import Transport
from engine.transport.slurm import SlurmTransport

SIMULATED_NOTICE = (
    "node speeds in this config are SIMULATED by the bundled demo harness "
    "(real LoadGen, simulated GPU service times)"
)
MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class PlanOutcome:
    ok: bool
    succeeded: tuple[str, ...]
    failed: tuple[str, ...]
    cancelled: tuple[str, ...]
    failures: tuple[tuple[str, str], ...]  # (run_id, reason)
    elapsed_s: float


class Orchestrator:
    def __init__(self, config: Config, bus: EventBus | None = None) -> None:
        self.config = config
        self.bus = bus or EventBus()
        self.store = ResultsStore(config.settings.results_dir)
        self._transports: dict[str, Transport] = {}
        self._connect_locks: dict[str, asyncio.Lock] = {}
        # One harness per node at a time: a re-run (or anything else) waits for the node's
        # current run, since two on one GPU node contaminate both measurements.
        self._node_slots: dict[str, asyncio.Lock] = {}
        self._node_holder: dict[str, str] = {}
        self._facts: dict[str, NodeFacts] = {}
        self._executions: dict[str, RunExecution] = {}
        self._specs: dict[str, RunSpec] = {}
        self._stop = False
        self._plan_id: str | None = None  # the plan this console runs now (journal lines)
        self._snapshot: str | None = None
        self._prewarm: asyncio.Task[None] | None = None
        self._history: Any = None  # engine.analysis.regression.RunHistory, read at first need
        self._history_lock = asyncio.Lock()
        self._history_read: asyncio.Task[None] | None = None
        # Reports are written after the outcome, never before it (engine/run/reports_writer.py);
        # close() waits for them.
        self.reports = ReportsWriter(
            self.bus,
            Path(config.settings.results_dir),
            Path(config.settings.reports_dir),
            ready=self._prewarmed,
        )
        self._ctx = RunContext(
            config=config,
            bus=self.bus,
            store=self.store,
            transport=self.transport,
            reconnect=self._reconnect,
            facts=self._facts.get,
            start_telemetry=self._start_telemetry,
            snapshot_toml=self._snapshot_toml,
        )
        self.settings = SettingsResolver(config, self.bus, self.transport, self._measured_rate)
        self._ctx.resolve_settings = self.settings.for_run

    # --- connections --------------------------------------------------------------------------

    async def transport(self, node: str) -> Transport:
        """A connected transport for `node` (connecting on first use)."""
        lock = self._connect_locks.setdefault(node, asyncio.Lock())
        async with lock:
            t = self._transports.get(node)
            if t is None:
                t = open_transport(self.config.nodes[node])
                self._transports[node] = t
            if not t.connected:
                await t.connect()
            return t

    async def _reconnect(self, node: str, run_id: str) -> Transport:
        """Retry with exponential backoff until connected or the run is cancelled."""
        delay = 0.5
        self.bus.publish(NodeStateChanged(node, NodeState.LINK_LOST, f"retrying ({run_id})"))
        while True:
            try:
                t = await self.transport(node)
                self.bus.publish(NodeStateChanged(node, NodeState.BUSY, "link restored"))
                return t
            except (NodeUnreachable, LinkLost, OSError) as exc:
                ex = self._executions.get(run_id)
                if ex is not None and ex.cancelled:
                    raise LinkLost(node, f"cancelled while the link was down: {exc}") from exc
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)

    async def close(self) -> None:
        """Write the reports still pending (nothing asked for is lost on exit), then close
        connections. Detached runs on nodes keep going."""
        if self._history_read is not None:
            self._history_read.cancel()
        await self.reports.drain()
        for t in self._transports.values():
            try:
                await t.close()
            except Exception:  # noqa: BLE001 - closing must not mask the real outcome
                pass
        self._transports.clear()

    def _snapshot_toml(self) -> str:
        if self._snapshot is None:
            from engine.config.load import snapshot_toml

            self._snapshot = snapshot_toml(self.config)
        return self._snapshot

    async def _start_telemetry(
        self, node: NodeSpec, run_dir: Path, job_id: str | None = None
    ) -> TelemetryHandle | None:
        try:
            from engine.telemetry import RunTelemetry
        except ImportError:
            return None
        transport = await self.transport(node.name)
        wait = None
        if job_id and isinstance(transport, SlurmTransport):
            # Compute nodes take no SSH: nvidia-smi runs inside the run's own allocation,
            # once the job has one.
            wait = functools.partial(transport.wait_started, job_id)
            transport = transport.in_job(job_id)
        return await RunTelemetry.start(
            transport, node, run_dir, self.config.settings.telemetry_interval_s, self.bus,
            wait=wait,
        )  # fmt: skip

    # --- preflight ----------------------------------------------------------------------------

    async def preflight(self, nodes: Sequence[str] | None = None) -> list[NodeFacts]:
        """Probe nodes concurrently over the orchestrator's own connections (left open for
        the runs: one login per node); publishes NodeStateChanged and NodeChecked per node."""
        from engine.run.preflight import preflight_nodes

        def transport_for(node: NodeSpec) -> Transport:
            return self._transports.setdefault(node.name, open_transport(node))

        facts = await preflight_nodes(
            self.config, list(nodes or self.config.nodes), transport_for, self.bus
        )
        self._facts.update((f.node, f) for f in facts)
        return facts

    # --- cancel -------------------------------------------------------------------------------

    def cancel(self, run_id: str) -> bool:
        ex = self._executions.get(run_id)
        if ex is None or ex.state.terminal:
            return False
        ex.cancel()
        return True

    def cancel_all(self) -> None:
        """Cancel live runs and start no more."""
        self._stop = True
        for ex in list(self._executions.values()):
            if not ex.state.terminal:
                ex.cancel()

    @property
    def live_runs(self) -> list[str]:
        return [
            rid
            for rid, ex in self._executions.items()
            if ex.state not in (RunState.QUEUED,) and not ex.state.terminal
        ]

    # --- plan ---------------------------------------------------------------------------------

    async def run_plan(
        self,
        stages: Sequence[str] | None = None,
        *,
        resume: PlanRecord | None = None,
        done: dict[str, RunSummary] | None = None,
    ) -> PlanOutcome:
        """Run the config's plan (or the named stages). The outcome comes first: PlanFinished
        is published and the outcome returned before the reports are rebuilt, by
        `self.reports` (ReportsPending, then ReportsWritten; `close()` waits for them).

        With `resume` (an earlier console's unfinished plan, engine.results.plan_journal) the
        plan goes on where it was: its finished stages, and runs that were started (re-attached
        or finished: `done` holds the summaries of those followed now), are skipped, and a
        group it had sized is finished as sized."""
        outcome, _ = await self._plan(stages, resume, done or {})
        return outcome

    async def _plan(
        self,
        stages: Sequence[str] | None,
        resume: PlanRecord | None,
        done: dict[str, RunSummary],
    ) -> tuple[PlanOutcome, list[RunSummary]]:
        t0 = time.monotonic()
        self._stop = False
        # The reports at the end need polars and matplotlib (about 1 s of imports): load them
        # in a thread while the first runs go, not after the last one ends; and only once the
        # first launch is under way, since their imports hold the GIL the launch needs.
        self._prewarm = asyncio.create_task(_prewarm_report_libraries())
        # The regression check's history of earlier runs, read once per plan: read it while
        # the first runs go (0.5 s for 1,000 runs), not on the way to the first run's outcome.
        if self._history is None and self._history_read is None:
            self._history_read = asyncio.create_task(self._read_history_early())
        names = stages
        if resume is not None:
            names = [n for n in resume.remaining_stages if stages is None or n in stages]
        plan_stages = [s for s in self.config.plan.stages if names is None or s.name in names]
        skip = set(resume.started_runs) | set(resume.finished_runs) if resume else set()
        if resume is None:
            plan_id = pj.new_plan_id()
            source = Path(self.config.source)
            config = str(source.resolve()) if source.is_file() else self.config.source
            self.store.journal(pj.plan_line(plan_id, config, (s.name for s in plan_stages)))
        else:
            plan_id = resume.plan_id
        self._plan_id = plan_id
        try:
            closes = resume is None or stages is None  # a resumed plan's last stages run
            return await self._run_stages(plan_id, plan_stages, skip, resume, done, t0, closes)
        finally:
            self._plan_id = None

    async def _run_stages(
        self,
        plan_id: str,
        plan_stages: list[Stage],
        skip: set[str],
        resume: PlanRecord | None,
        done: dict[str, RunSummary],
        t0: float,
        closes: bool,
    ) -> tuple[PlanOutcome, list[RunSummary]]:
        to_run = [r for s in plan_stages for r in s.runs if r.run_id not in skip]
        n_runs = sum(
            len([r for r in s.runs if r.run_id not in skip])
            or len(s.group.nodes if s.group else ())
            or len(s.fleet.concurrency if s.fleet else ())
            or (1 if s.search else 0)
            for s in plan_stages
        )
        self.bus.publish(
            PlanStarted(
                self.config.source, n_runs, len(plan_stages), self.config.simulated,
                tuple((s.name, s.kind) for s in plan_stages),
            )
        )  # fmt: skip
        if self.config.simulated:
            self.bus.publish(SimulatedSpeedsNotice(SIMULATED_NOTICE))
        for spec in to_run:
            self.bus.publish(RunQueued(spec))
        # Before anything starts: the nodes' facts (OS, Python, LoadGen, for the summaries;
        # a node the console's `p` probed already is not asked again) and what LoadGen will
        # really issue for each run (and its ETA), both over the connections the runs use.
        unprobed = [n for n in _plan_nodes(plan_stages) if n not in self._facts]
        await asyncio.gather(
            self.preflight(unprobed) if unprobed else asyncio.sleep(0),
            self.settings.resolve(to_run),
        )
        summaries: list[RunSummary] = list(done.values())
        # Only a plan with a fleet stage needs the endpoint services (and aiohttp, 0.3 s of
        # imports that would otherwise delay every plan's first launch).
        services = self._fleet_services() if any(s.fleet for s in plan_stages) else None
        try:
            for stage in plan_stages:
                index = self.config.plan.stages.index(stage)
                if self._stop:
                    for spec in stage.runs:
                        if spec.run_id not in skip:
                            summaries.append(await self._cancelled_before_start(spec))
                    continue
                self.store.journal(pj.stage_line(pj.STAGE_STARTED, plan_id, index, stage.name))
                self.bus.publish(StageStarted(index, stage.name, stage.kind))
                if stage.group is not None:
                    summaries.extend(await self._run_group(stage.group, plan_id, resume, done))
                elif stage.search is not None:
                    from engine.run.qps_search import run_qps_search

                    summaries.extend(await run_qps_search(
                        stage.search, store=self.store, bus=self.bus, execute=self._execute
                    ))  # fmt: skip
                elif stage.fleet is not None and services is not None:
                    from engine.fleet.stage import run_fleet_stage

                    summaries.extend(await run_fleet_stage(services.ctx, stage.fleet, services))
                else:
                    summaries.extend(await self._run_stage(stage, skip))
                if not self._stop:
                    self.store.journal(
                        pj.stage_line(pj.STAGE_FINISHED, plan_id, index, stage.name)
                    )
        finally:
            # Endpoint services live for the whole plan (a sweep reuses them), then stop.
            if services is not None:
                await services.stop_all()
            if closes or self._stop:
                state = "cancelled" if self._stop else "done"
                self.store.journal(pj.plan_finished_line(plan_id, state))
        # A resumed group hands back the shards followed before it: each run counts once.
        summaries = list({s.run_id or str(id(s)): s for s in summaries}.values())
        outcome = plan_outcome(summaries, time.monotonic() - t0)
        self.bus.publish(
            PlanFinished(
                outcome.ok, outcome.succeeded, outcome.failed, outcome.cancelled, outcome.elapsed_s
            )
        )
        self.reports.rebuild()  # after the outcome (ReportsPending now, ReportsWritten later)
        return outcome, summaries

    async def _prewarmed(self) -> None:
        """Wait for the report libraries' preload; a failure is said (the reports that
        follow then say what failed), never left in a task no one awaits."""
        task, self._prewarm = self._prewarm, None
        if task is None:
            return
        try:
            await task
        except Exception as exc:  # noqa: BLE001 - an ImportError, a broken matplotlib...
            self.bus.publish(
                Notice(f"could not preload the report libraries: {type(exc).__name__}: {exc}",
                       "warning")
            )  # fmt: skip

    async def rerun(self, run_id: str) -> RunSummary:
        """The same RunSpec again, in a new run dir."""
        spec = self._specs.get(run_id) or next(
            (r for r in self.config.plan.all_runs() if r.run_id == run_id), None
        )
        if spec is None:
            raise KeyError(run_id)
        n = sum(1 for k in self._specs if k.startswith(f"{run_id}.r"))
        again = dataclasses.replace(spec, run_id=f"{run_id}.r{n + 1}")
        self.bus.publish(RunQueued(again))
        summary = await self._execute(again)
        self.reports.rebuild()
        return summary

    async def _execute(self, spec: RunSpec) -> RunSummary:
        ex = RunExecution(self._ctx, spec)
        self._executions[spec.run_id] = ex
        self._specs[spec.run_id] = spec
        async with self.node_slot(spec.node, spec.run_id):
            if self._stop:
                ex.cancel()
            self.bus.publish(NodeStateChanged(spec.node, NodeState.BUSY, spec.run_id))
            try:
                summary = await ex.execute()
            finally:
                self.bus.publish(NodeStateChanged(spec.node, NodeState.READY, ""))
        await self._finished(ex, summary)
        return summary

    def node_busy_with(self, node: str) -> str | None:
        """The run holding `node` now (None when the node is free)."""
        return self._node_holder.get(node)

    @contextlib.asynccontextmanager
    async def node_slot(self, node: str, run_id: str) -> AsyncIterator[None]:
        """Hold `node` for `run_id`; while another run holds it, the run stays queued and
        says what it waits for (first come, first served)."""
        slot = self._node_slots.setdefault(node, asyncio.Lock())
        holder = self._node_holder.get(node)
        if slot.locked() and holder is not None:
            self.bus.publish(
                RunStateChanged(run_id, node, RunState.QUEUED, f"waits for {node}: {holder} runs")
            )
        async with slot:
            self._node_holder[node] = run_id
            try:
                yield
            finally:
                self._node_holder.pop(node, None)

    async def _finished(self, ex: RunExecution, summary: RunSummary) -> None:
        """The regression check, then the event the views wait for; the per-run report is
        the reports writer's, written while the next run goes."""
        regression = await self._judge(ex, summary)
        if ex.placement is not None:
            self.reports.run_report(ex.placement.run_dir, regression)
        run_dir = str(ex.placement.run_dir) if ex.placement else ""
        self.bus.publish(
            RunFinished(ex.spec.run_id, ex.spec.node, ex.state, run_dir, summary, regression)
        )

    async def _judge(self, ex: RunExecution, summary: RunSummary) -> Any:
        """The run against its node's earlier runs in the results dir (read once per plan,
        in a thread; engine.analysis.regression)."""
        if ex.placement is None or ex.spec.target_qps is not None or ex.spec.compliance:
            return None  # no placement: never ran; a QPS step or compliance run: not judged
        from engine.results.store import RecordedRun

        await self._read_history()
        async with self._history_lock:
            return self._history.judge_run(RecordedRun(ex.placement.run_dir, summary))

    async def _read_history_early(self) -> None:
        """`_read_history` once the plan's first launch is under way; a failure is left to
        the first run's own call, which raises it where it always did."""
        await asyncio.sleep(PREWARM_DELAY_S)
        with contextlib.suppress(Exception):
            await self._read_history()

    async def _read_history(self) -> None:
        """Read the runs already under the results dir once (the regression check's history),
        in a thread; a call while a read is under way waits for it."""
        from engine.analysis.regression import RunHistory

        async with self._history_lock:
            if self._history is None:
                root, margin = self.store.root, self.config.settings.regression_margin
                self._history = await asyncio.to_thread(RunHistory.of_results_dir, root, margin)

    async def _cancelled_before_start(self, spec: RunSpec) -> RunSummary:
        return await self._execute(spec)  # _stop makes it a cancelled summary without launch

    async def _run_stage(self, stage: Stage, skip: set[str]) -> list[RunSummary]:
        by_node: dict[str, list[RunSpec]] = {}
        for spec in (r for r in stage.runs if r.run_id not in skip):
            by_node.setdefault(spec.node, []).append(spec)

        async def node_queue(specs: list[RunSpec]) -> list[RunSummary]:
            return [await self._execute(spec) for spec in specs]

        results = await asyncio.gather(*(node_queue(s) for s in by_node.values()))
        return [summary for node_results in results for summary in node_results]

    def unfinished_plan(self) -> PlanRecord | None:
        """The plan an earlier console left unfinished (None when there is none, or while this
        console runs a plan of its own)."""
        if self._plan_id is not None:
            return None
        record = pj.unfinished_plan(self.store.journal_entries())
        if record is not None:  # a stage of runs is done once each of its runs is
            record.finished_stages.update(
                s.name for s in self.config.plan.stages
                if s.runs and s.group is None and s.fleet is None and s.search is None
                and all(r.run_id in record.finished_runs for r in s.runs)
            )  # fmt: skip
        return record

    async def reattach(self, *, resume: bool = False) -> list[RunSummary]:
        """Follow every run the journal says was started but never finished (a console that
        was closed or crashed while runs went on, detached, on their nodes) to its end; then,
        for the plan they belonged to, finish the group it had sized (its summary written)
        and, with `resume`, run the stages that remain (finished ones skipped); without,
        say which remain. Runs this console follows already are not followed twice."""
        followed = await self._follow_unfinished()
        record = self.unfinished_plan()
        if record is None:
            if followed:
                await self.export_reports()
            return followed
        for problem in record.problems:
            self.bus.publish(Notice(f"{problem}; not finished", "warning"))
        unknown = [n for n in record.remaining_stages
                   if n not in {s.name for s in self.config.plan.stages}]  # fmt: skip
        if unknown:
            self.bus.publish(
                Notice(f"{record.describe()}; this config has no stage {', '.join(unknown)}: "
                       "those are not resumed", "warning")  # fmt: skip
            )
        still = [s.run_id for s in followed if s.state in MAY_STILL_RUN]
        if still:
            self.bus.publish(
                Notice(f"{record.describe()}; not resumed while {', '.join(still)} may still "
                       "be going on its node: attach again later", "warning")  # fmt: skip
            )
            await self.export_reports()
            return followed
        if not resume:
            groups = [s.name for s in self.config.plan.stages
                      if s.group is not None and s.group.group_id in record.groups]  # fmt: skip
            if groups:  # a group an earlier console had sized: finish it (its summary)
                _, summaries = await self._plan(groups, record, _by_id(followed))
                record = self.unfinished_plan()
                if record is not None and record.remaining_stages:
                    self._say_remaining(record)
                return summaries
            if record.remaining_stages:
                self._say_remaining(record)
            if followed:
                await self.export_reports()
            return followed
        self.bus.publish(Notice(f"resuming {record.describe()}"))
        _, summaries = await self._plan(None, record, _by_id(followed))
        return summaries

    def _say_remaining(self, record: PlanRecord) -> None:
        self.bus.publish(
            Notice(f"{record.describe()}: `mlconsole attach` (or s in the console) resumes it",
                   "warning")  # fmt: skip
        )

    async def _follow_unfinished(self) -> list[RunSummary]:
        runs, problems = self.store.unfinished_runs()
        for problem in problems:
            self.bus.publish(Notice(f"{problem}; not re-attached", "warning"))
        pending = []
        for started in runs:
            spec = started.spec
            mine = self._executions.get(spec.run_id)
            if mine is not None and not mine.state.terminal:
                continue  # this console follows it already
            if spec.node not in self.config.nodes or spec.benchmark not in self.config.benchmarks:
                self.bus.publish(
                    Notice(
                        f"journal run {started.run_dir} names a node or "
                        "benchmark this config lacks; not re-attached",
                        "warning",
                    )
                )
                continue
            ex = RunExecution.reattached(self._ctx, started)
            self._executions[spec.run_id] = ex
            self._specs[spec.run_id] = spec
            self.bus.publish(RunQueued(spec))
            self.bus.publish(
                Notice(f"re-attached to {spec.run_id} on {spec.node} ({started.run_dir})")
            )
            pending.append(ex)

        async def follow(ex: RunExecution) -> RunSummary:
            async with self.node_slot(ex.spec.node, ex.spec.run_id):
                self.bus.publish(NodeStateChanged(ex.spec.node, NodeState.BUSY, ex.spec.run_id))
                try:
                    summary = await ex.follow()
                except (NodeUnreachable, LinkLost) as exc:
                    summary = await ex.record_unreachable(str(exc))
                finally:
                    self.bus.publish(NodeStateChanged(ex.spec.node, NodeState.READY, ""))
            await self._finished(ex, summary)
            return summary

        return list(await asyncio.gather(*(follow(ex) for ex in pending)))

    # --- fleet runs --------------------------------------------------------------------------

    def _fleet_services(self) -> Any:
        """The plan's registry of endpoint services, and the context fleet stages run in."""
        from engine.fleet.stage import FleetContext, ServiceRegistry
        from engine.run.templates import render_service

        ctx = FleetContext(
            config=self.config,
            bus=self.bus,
            store=self.store,
            transport=self.transport,
            snapshot_toml=self._snapshot_toml,
            render_service=render_service,
            cancelled=lambda: self._stop,
        )
        return ServiceRegistry(ctx)

    # --- settings --------------------------------------------------------------------------

    async def resolve_plan_settings(
        self, nodes: Sequence[str] | None = None
    ) -> list[RunSettingsResolved]:
        """What LoadGen will issue for every run of the plan (group shards as they would be
        sized now), asking only `nodes` (default: all). For `mlconsole check`."""
        specs = [r for stage in self.config.plan.stages for r in stage.runs]
        for stage in self.config.plan.stages:
            if stage.group is not None:
                measured = group_measurements(self.store, stage.group)
                specs.extend(plan_shards(stage.group, measured).shards)
        if nodes is not None:
            specs = [s for s in specs if s.node in nodes]
        found: list[RunSettingsResolved] = []
        remove = self.bus.add_listener(
            lambda ev: found.append(ev) if isinstance(ev, RunSettingsResolved) else None
        )
        try:
            await self.settings.resolve(specs)
        finally:
            remove()
        return found

    def _measured_rate(self, spec: RunSpec) -> tuple[float | None, str | None]:
        """The node's most recent wall throughput for this run's benchmark, scenario and mode
        (the rate a run's ETA before launch follows from)."""
        return measured_throughputs(
            self.store.runs(), spec.benchmark, str(spec.scenario), str(spec.mode), [spec.node]
        )[spec.node]

    async def _run_group(
        self,
        group: GroupSpec,
        plan_id: str,
        resume: PlanRecord | None,
        done: dict[str, RunSummary],
    ) -> list[RunSummary]:
        recorded = resume.groups.get(group.group_id) if resume is not None else None
        shards = {}
        if recorded is not None and resume is not None:
            shards = pj.recorded_shards(self.store.root, recorded, resume, done)
            for spec in recorded.shards:
                if spec.run_id not in shards:
                    self.bus.publish(RunQueued(spec))
        return await run_group(
            group,
            config=self.config,
            store=self.store,
            bus=self.bus,
            execute=self._execute,
            resolve_settings=self.settings.resolve,
            plan_id=plan_id,
            recorded=recorded,
            done=shards,
        )

    # --- reports ------------------------------------------------------------------------------

    async def export_reports(self) -> list[Path]:
        """Rebuild charts and markdown reports from the recorded results alone, and wait for
        them (the console's export key, `attach`): through the reports writer, so that two
        rebuilds never run at once."""
        return await self.reports.rebuild()


def _by_id(summaries: Sequence[RunSummary]) -> dict[str, RunSummary]:
    return {s.run_id: s for s in summaries if s.run_id}


def _plan_nodes(stages: Sequence[Stage]) -> list[str]:
    """Every node a run of these stages lands on, in plan order."""
    names: dict[str, None] = {}
    for stage in stages:
        names.update(dict.fromkeys(r.node for r in stage.runs))
        if stage.group is not None:
            names.update(dict.fromkeys(stage.group.nodes))
        if stage.search is not None:
            names[stage.search.node] = None
    return list(names)


PREWARM_DELAY_S = 1.0  # preflight, settings probe and launch take 0.05 to 0.3 s


async def _prewarm_report_libraries() -> None:
    await asyncio.sleep(PREWARM_DELAY_S)
    await asyncio.to_thread(_import_report_libraries)


def _import_report_libraries() -> None:
    import engine.analysis.frames  # noqa: F401  (polars)
    from engine.analysis.charts import warm_up

    warm_up()


def plan_outcome(summaries: Sequence[RunSummary], elapsed: float) -> PlanOutcome:
    succeeded, failed, cancelled, failures = [], [], [], []
    for s in summaries:
        run_id = s.run_id or "?"
        if s.ok:
            succeeded.append(run_id)
        elif s.state == RunState.CANCELLED:
            cancelled.append(run_id)
        else:
            failed.append(run_id)
            failures.append((run_id, s.exit.detail or str(s.state)))
    return PlanOutcome(
        not failed and not cancelled,
        tuple(succeeded),
        tuple(failed),
        tuple(cancelled),
        tuple(failures),
        elapsed,
    )
