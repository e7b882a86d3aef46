"""A fleet stage of a plan: endpoints up on every node, one LoadGen over all of them, one
result (a concurrency sweep: one result per concurrency limit), services stopped at the end
of the plan.

The orchestrator hands in what a stage needs (`FleetContext`); this module publishes the same
events as a run (RunQueued, RunStateChanged, RunProgress, RunFinished) with `node = "fleet"`,
plus ServiceStateChanged, ServiceLog and FleetProgressed. A fleet run's results dir holds
LoadGen's own files, `orchestrator_summary.json` (kind "fleet", its `fleet` block naming every
endpoint's share) and `fleet_endpoints.json`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine import figures
from engine.errors import LinkLost, MlconsoleError, NodeUnreachable, TransportError
from engine.events import (
    EventBus,
    FleetProgressed,
    NodeStateChanged,
    Notice,
    RunFinished,
    RunProgress,
    RunQueued,
    RunStateChanged,
    ServiceLog,
    ServiceStateChanged,
)
from engine.fleet import api
from engine.fleet.run import EndpointTarget, FleetOutcome, FleetProgress, FleetRequest, run_fleet
from engine.fleet.services import (
    RunningService,
    ServiceFailed,
    alive,
    follow_logs,
    start_service,
    stop,
)
from engine.fleet.specs import FLEET_NODE, fleet_runs
from engine.model import Config, FleetSpec, NodeSpec, NodeState, RunSpec, RunState, ServiceSpec
from engine.results.schema import RUN_SUMMARY_FILE, RunSummary
from engine.results.store import SNAPSHOT, ResultsStore, write_json, write_run_summary
from engine.transport.base import Transport

ENDPOINTS_FILE = "fleet_endpoints.json"
WATCH_S = 1.0


@dataclass
class FleetContext:
    config: Config
    bus: EventBus
    store: ResultsStore
    transport: Callable[[str], Awaitable[Transport]]
    snapshot_toml: Callable[[], str]
    # (node, service, service_dir) -> the service's command, placeholders filled and quoted
    render_service: Callable[[NodeSpec, ServiceSpec, str], str]
    cancelled: Callable[[], bool] = lambda: False


@dataclass
class ServiceRegistry:
    """The endpoint services a plan started or reused, kept until the plan ends."""

    ctx: FleetContext
    running: dict[tuple[str, str], RunningService] = field(default_factory=dict)
    watchers: dict[tuple[str, str], asyncio.Task[None]] = field(default_factory=dict)

    async def ensure(self, node: str, service: str) -> RunningService:
        key = (node, service)
        if key in self.running:
            return self.running[key]
        spec = self.ctx.config.services[service]
        bus = self.ctx.bus

        def say(state: str, detail: str) -> None:
            bus.publish(ServiceStateChanged(node, service, state, detail))

        def log(stream: str, lines: tuple[str, ...]) -> None:
            bus.publish(ServiceLog(node, service, stream, lines))

        transport = await self.ctx.transport(node)
        node_spec = self.ctx.config.nodes[node]
        running = await start_service(
            transport,
            node_spec,
            spec,
            say=say,
            log=log,
            render=lambda sdir: self.ctx.render_service(node_spec, spec, sdir),
            cancelled=self.ctx.cancelled,
        )
        bus.publish(NodeStateChanged(node, NodeState.SERVING, f"{service} at {running.url}"))
        self.running[key] = running
        self.watchers[key] = asyncio.create_task(self._watch(transport, running, say, log))
        return running

    async def _watch(self, transport: Transport, running: RunningService, say, log) -> None:  # noqa: ANN001
        """Follow the service's log; say so, with the tail, when it dies."""
        recent: list[str] = []
        while True:
            await asyncio.sleep(WATCH_S)
            try:
                await follow_logs(transport, running, log, recent)
                ended = await alive(transport, running)
            except (LinkLost, TransportError, OSError):
                continue
            if ended is not None:
                await follow_logs(transport, running, log, recent, final=True)
                detail = f"{ended}; last log lines: " + " | ".join(recent[-6:])
                say("failed", detail)
                self.ctx.bus.publish(
                    NodeStateChanged(running.node, NodeState.SERVICE_FAILED, detail)
                )
                self.running.pop((running.node, running.service.name), None)
                return

    async def stop_all(self) -> None:
        for task in self.watchers.values():
            task.cancel()
        await asyncio.gather(*self.watchers.values(), return_exceptions=True)
        self.watchers.clear()
        await asyncio.gather(*(self._stop_one(n, s, r) for (n, s), r in list(self.running.items())))
        self.running.clear()

    async def _stop_one(self, node: str, service: str, running: RunningService) -> None:
        try:
            transport = await self.ctx.transport(node)
            stopped = await stop(transport, running)
        except (NodeUnreachable, LinkLost, TransportError, OSError) as exc:
            self.ctx.bus.publish(
                Notice(f"service {service} on {node} could not be stopped: {exc}", "warning")
            )
            return
        state = "stopped" if stopped else "left running"
        why = (
            "keep_running = true"
            if running.service.keep_running
            else "mlconsole did not start it"
            if not stopped
            else ""
        )
        self.ctx.bus.publish(ServiceStateChanged(node, service, state, why))
        self.ctx.bus.publish(NodeStateChanged(node, NodeState.READY, ""))


async def run_fleet_stage(
    ctx: FleetContext, spec: FleetSpec, registry: ServiceRegistry
) -> list[RunSummary]:
    """Every run of the stage, in order; each returns its written summary."""
    runs = fleet_runs(spec)
    for run in runs:
        ctx.bus.publish(RunQueued(run))
    summaries = []
    for run, limit in zip(runs, spec.concurrency, strict=True):
        if ctx.cancelled():
            summaries.append(
                _write(
                    ctx,
                    spec,
                    run,
                    _new_dir(ctx, spec),
                    RunState.CANCELLED,
                    "cancelled before start",
                    None,
                    limit,
                    [],
                    None,
                )
            )
            continue
        summaries.append(await _one(ctx, spec, run, limit, registry))
    return summaries


def _new_dir(ctx: FleetContext, spec: FleetSpec) -> Path:
    return ctx.store.new_run_dir(f"{FLEET_NODE}-{spec.name}")


async def _one(
    ctx: FleetContext, spec: FleetSpec, run: RunSpec, limit: int | None, registry: ServiceRegistry
) -> RunSummary:
    run_dir = _new_dir(ctx, spec)
    (run_dir / SNAPSHOT).write_text(ctx.snapshot_toml())
    ctx.bus.publish(
        RunStateChanged(
            run.run_id, FLEET_NODE, RunState.STARTING, "starting endpoints", str(run_dir)
        )
    )
    service = ctx.config.services[spec.service]

    async def up(node: str) -> RunningService | ServiceFailed:
        try:
            return await registry.ensure(node, spec.service)
        except ServiceFailed as exc:
            ctx.bus.publish(ServiceStateChanged(node, spec.service, "failed", str(exc)))
            ctx.bus.publish(NodeStateChanged(node, NodeState.SERVICE_FAILED, str(exc)))
            return exc
        except (NodeUnreachable, LinkLost, TransportError, OSError) as exc:
            failed = ServiceFailed(node, spec.service, f"node unreachable: {exc}")
            ctx.bus.publish(NodeStateChanged(node, NodeState.UNREACHABLE, str(exc)))
            return failed

    results = await asyncio.gather(*(up(n) for n in spec.nodes))
    ready = [r for r in results if isinstance(r, RunningService)]
    excluded = [
        {"node": r.node, "reason": r.reason, "log_tail": list(r.log_tail)}
        for r in results
        if isinstance(r, ServiceFailed)
    ]
    for e in excluded:
        ctx.bus.publish(
            Notice(f"{run.run_id}: {e['node']} left out of the fleet: {e['reason']}", "warning")
        )
    if not ready:
        why = "no endpoint became ready: " + "; ".join(
            f"{e['node']}: {e['reason']}" for e in excluded
        )
        return _write(ctx, spec, run, run_dir, RunState.FAILED, why, None, limit, excluded, None)
    bench = ctx.config.benchmarks[spec.benchmark]
    request = FleetRequest(
        scenario=str(spec.scenario),
        mode=str(spec.mode),
        samples=spec.samples,
        loadgen_model=bench.model,
        dataset=bench.dataset or "",
        sampling=api.Sampling(
            **asdict(bench.generation),
            return_token_ids=service.return_token_ids,
            extra=dict(bench.request_extra) or None,
        ),
        served_model=service.model or (ready[0].models[0] if ready[0].models else None),
        target_qps=spec.target_qps,
        prompt_field=bench.prompt_field,
        user_conf=bench.user_conf or "",
        max_retries=spec.max_retries,
        request_timeout_s=service.request_timeout_s,
        max_concurrency=limit,
    )
    targets = [EndpointTarget(r.node, r.url, service.max_in_flight) for r in ready]
    ctx.bus.publish(
        RunStateChanged(
            run.run_id,
            FLEET_NODE,
            RunState.RUNNING,
            f"LoadGen over {', '.join(r.node for r in ready)}",
            str(run_dir),
        )
    )
    t0 = time.monotonic()

    def progress(p: FleetProgress) -> None:
        done = p.completed + p.failed
        elapsed = time.monotonic() - t0
        rate = done / elapsed if done and elapsed > 0 else None
        ctx.bus.publish(
            RunProgress(
                run.run_id,
                done,
                spec.samples,
                figures.eta_seconds(done, spec.samples, rate),
                rate,
                "fleet",
            )
        )
        ctx.bus.publish(
            FleetProgressed(
                run.run_id,
                p.completed,
                p.failed,
                p.retries,
                p.output_tokens,
                tuple((n, q, f, u) for n, (q, f, u) in p.per_endpoint.items()),
            )
        )

    try:
        outcome = await run_fleet(
            request, targets, run_dir, on_progress=progress, cancelled=ctx.cancelled
        )
    except MlconsoleError as exc:
        return _write(
            ctx, spec, run, run_dir, RunState.FAILED, str(exc), None, limit, excluded, None
        )
    from engine.loadgen.parse import read_run_logs

    logs = await asyncio.to_thread(read_run_logs, run_dir)
    if ctx.cancelled():
        state, detail = RunState.CANCELLED, "cancelled; LoadGen's files kept in " + str(run_dir)
    elif outcome.failed_reason is not None:
        state, detail = (
            RunState.FAILED,
            outcome.failed_reason + f"; LoadGen's files kept in {run_dir}",
        )
    elif logs.complete:
        state, detail = RunState.SUCCEEDED, ""
    else:
        state, detail = RunState.FAILED, "LoadGen's summary is incomplete"
    return _write(ctx, spec, run, run_dir, state, detail, logs, limit, excluded, outcome)


def _write(
    ctx: FleetContext,
    spec: FleetSpec,
    run: RunSpec,
    run_dir: Path,
    state: RunState,
    detail: str,
    logs: Any,
    limit: int | None,
    excluded: list[dict[str, Any]],
    outcome: FleetOutcome | None,
) -> RunSummary:
    from engine.results.summary import build_fleet_block, build_run_summary

    bench = ctx.config.benchmarks[spec.benchmark]
    simulated = (
        bench.simulated
        or ctx.config.services[spec.service].simulated
        or any(ctx.config.nodes[n].simulated for n in spec.nodes)
    )
    endpoints = outcome.endpoints if outcome is not None else []
    write_json(run_dir / ENDPOINTS_FILE, {"run_id": run.run_id, "endpoints": endpoints})
    files = [f.name for f in run_dir.iterdir() if f.is_file()] + [RUN_SUMMARY_FILE]
    summary = build_run_summary(
        spec=run,
        benchmark=bench,
        run_dir_name=run_dir.name,
        simulated=simulated,
        state=state,
        exit_code=None,
        detail=detail,
        start_unix=outcome.start_unix if outcome else None,
        end_unix=outcome.end_unix if outcome else None,
        logs=logs,
        facts=None,
        telemetry=None,
        files=files,
    )
    fleet = build_fleet_block(
        spec=spec, limit=limit, excluded=excluded, outcome=outcome, endpoints_file=ENDPOINTS_FILE
    )
    summary = dataclasses.replace(summary, kind="fleet", fleet=fleet)
    write_run_summary(run_dir, summary)
    ctx.bus.publish(RunStateChanged(run.run_id, FLEET_NODE, state, detail, str(run_dir)))
    ctx.bus.publish(RunFinished(run.run_id, FLEET_NODE, state, str(run_dir), summary))
    return summary
