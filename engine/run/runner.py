"""Executes one run on one node: render, check, launch detached, follow, collect, summarise.

The runner only speaks the transport protocol. Following is resumable: tails keep byte offsets,
and a lost link is retried (the run keeps going on the node meanwhile), so the controller's
copy of every stream ends up identical to the node's.

Why one module of about 500 lines: `RunExecution` is one state machine (queued, starting,
running, link lost, collecting, an end state) whose steps share its state (placement, handle,
cancel flag, live progress, the summary it writes once). What happens before launch is in
`engine.run.launch_prep`, the accuracy and compliance steps in their own modules; what stays
here is the follow loop and every way it ends, which split apart would only pass that state
back and forth.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from engine.checks.accuracy import AccuracyRecord
from engine.errors import LaunchRefused, LinkLost, MlconsoleError, NodeUnreachable, TransportError
from engine.events import (
    EventBus,
    Notice,
    RunLog,
    RunStateChanged,
)
from engine.loadgen.files import (
    LOADGEN_ACCURACY_FILE,
    LOADGEN_DETAIL_FILE,
    LOADGEN_TRACE_FILE,
    LOG_PREFIX,
)
from engine.model import Benchmark, Config, Mode, NodeFacts, NodeSpec, RunSpec, RunState
from engine.results.schema import RUN_SUMMARY_FILE, RunSummary
from engine.results.store import ResultsStore, StartedRun, write_run_summary
from engine.run.compliance import ComplianceStep
from engine.run.launch_prep import Placement, place, prepare
from engine.run.live_progress import STREAMS, LiveProgress
from engine.run.loadgen_settings import Resolution
from engine.run.log_dir import is_pattern, match_log_dir
from engine.run.outcome import outcome as _outcome
from engine.run.outcome import what_runs as _what_runs
from engine.run.templates import RenderedRun
from engine.secrets import redact_dir, secret_values
from engine.transport import containers, detach
from engine.transport.base import ContainerRef, RunHandle, Transport
from engine.transport.tail import LineTail

MAX_LOG_LINES_PER_EVENT = 500
END_POLL_S = 0.05
# Terminal states of a run that may still be going on its node.
MAY_STILL_RUN = frozenset({RunState.UNREACHABLE, RunState.CANCEL_FAILED})


class TelemetryHandle(Protocol):
    async def stop(self) -> Mapping[str, Any]: ...


@dataclass
class RunContext:
    """What a run needs from its orchestrator."""

    config: Config
    bus: EventBus
    store: ResultsStore
    transport: Callable[[str], Awaitable[Transport]]  # connected transport for a node
    reconnect: Callable[[str, str], Awaitable[Transport]]  # (node, run_id) -> after a lost link
    facts: Callable[[str], NodeFacts | None]
    # (node, run dir, the run's scheduler job id or None)
    start_telemetry: Callable[[NodeSpec, Path, str | None], Awaitable[TelemetryHandle | None]]
    snapshot_toml: Callable[[], str]
    # What LoadGen will issue with this user.conf text (engine/run/loadgen_settings.py); None
    # for a harness that decides its settings itself.
    resolve_settings: Callable[[RunSpec, str | None], Awaitable[Resolution | None]] | None = None


class RunExecution:
    """One run from launch to summary. `cancel()` may be called from any task."""

    def __init__(self, ctx: RunContext, spec: RunSpec) -> None:
        self.ctx = ctx
        self.spec = spec
        self.node: NodeSpec = ctx.config.nodes[spec.node]
        self.benchmark: Benchmark = ctx.config.benchmarks[spec.benchmark]
        self.state = RunState.QUEUED
        self.placement: Placement | None = None
        self.handle: RunHandle | None = None
        self.rendered: RenderedRun | None = None
        self._cancel = asyncio.Event()
        self._wakers: list[Callable[[], None]] = []  # the pause under way's, if any
        self._followed_on: Transport | None = None  # the transport _follow last used
        self.summary: RunSummary | None = None
        self.resolution: Resolution | None = None
        self._matched_log_dir: str | None = None
        self._size_noticed = False
        self._pending_detail = ""
        self._job_seen_running = False
        self.accuracy: AccuracyRecord | None = None  # the accuracy step's, once it ran
        self.compliance = ComplianceStep(self) if spec.compliance is not None else None

    # --- public -------------------------------------------------------------------------------

    def cancel(self) -> None:
        self._cancel.set()
        for wake in list(self._wakers):  # a pause under way ends now
            wake()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @classmethod
    def reattached(cls, ctx: RunContext, started: StartedRun) -> RunExecution:
        """The execution of a run an earlier console launched, from its journal line, ready
        to `follow()`."""
        ex = cls(ctx, started.spec)
        ex.placement = Placement(
            ctx.store.root / started.run_dir, started.node_run_dir, started.log_dir, ""
        )
        ex.handle = RunHandle(
            started.spec.node, started.spec.run_id, started.node_run_dir, started.pid,
            started.job_id, started.container,
        )  # fmt: skip
        return ex

    async def execute(self) -> RunSummary:
        """Run to the end and return the written summary. Never raises for run-level failures:
        they become a FAILED summary with the reason."""
        if self.cancelled:
            return await self._finish_without_launch(RunState.CANCELLED, "cancelled before start")
        self._set(RunState.STARTING)
        try:
            transport = await self.ctx.transport(self.node.name)
            self.placement = await place(self, transport)
            request = await prepare(self, transport)
            self.handle = await transport.start(request)
            if self.benchmark.container is not None:  # the name a cancel stops it by
                name = containers.container_name(self.spec.run_id, self.placement.run_dir.name)
                ref = ContainerRef(self.benchmark.container.runtime, name)
                self.handle = dataclasses.replace(self.handle, container=ref)
        except (LaunchRefused, NodeUnreachable, MlconsoleError, ValueError, OSError) as exc:
            if self.compliance is not None and self.compliance.placed_at is not None:
                await self.compliance.remove()
            return await self._finish_without_launch(RunState.FAILED, str(exc))
        p = self.placement
        self.ctx.store.journal_started(
            StartedRun(self.spec, p.run_dir.name, p.node_run_dir, p.log_dir, self.handle.pid,
                       self.ctx.config.source, time.time(), self.handle.job_id,
                       self.handle.container)
        )  # fmt: skip
        return await self.follow()

    async def follow(self) -> RunSummary:
        """Follow a launched (or re-attached) run to its end, then collect and summarise; a
        compliance test's audit.config is removed on every way out."""
        try:
            return await self._follow()
        finally:
            release = getattr(self._followed_on, "release", None)
            if release is not None and self.handle is not None:
                release(self.handle)  # the local node's exit watch, when the run outlives this
            if self.compliance is not None:
                await self.compliance.remove()

    async def _follow(self) -> RunSummary:
        assert self.placement is not None and self.handle is not None
        p = self.placement
        self._set(RunState.RUNNING, run_dir=str(p.run_dir))
        telemetry = await self.ctx.start_telemetry(self.node, p.run_dir, self.handle.job_id)
        size = self.resolution.size if self.resolution is not None else None
        progress = LiveProgress(
            self.spec,
            _compile(self.benchmark.progress_pattern),
            STREAMS[self.benchmark.progress_stream],
            size.exact if size is not None else None,
            poll_s=self.ctx.config.settings.poll_interval_s,
        )
        tails = {
            "stdout": LineTail(f"{p.node_run_dir}/{detach.STDOUT}"),
            "stderr": LineTail(f"{p.node_run_dir}/{detach.STDERR}"),
        }
        stall_s = self.ctx.config.settings.stall_timeout_s or self.benchmark.stall_timeout_s
        poll_s = self.ctx.config.settings.poll_interval_s
        transport = self._followed_on = await self.ctx.transport(self.node.name)
        status = None
        cancelled = False
        while True:
            try:
                if self.cancelled and not cancelled:
                    try:
                        await containers.cancel_run(transport, self.handle)
                    except LinkLost:
                        raise
                    except TransportError as exc:  # the group survived TERM and KILL
                        return await self._cancel_failed(str(exc), status, telemetry)
                    cancelled = True  # only once the kill went through
                status = await transport.status(self.handle)
                final = not status.live
                if "detail" not in tails and (log_dir := await self._log_dir(transport)):
                    tails["detail"] = LineTail(f"{log_dir}/{LOADGEN_DETAIL_FILE}")
                    tails["trace"] = LineTail(f"{log_dir}/{LOADGEN_TRACE_FILE}")
                    tails["accuracy"] = LineTail(f"{log_dir}/{LOADGEN_ACCURACY_FILE}")
                await self._poll_tails(transport, tails, progress, final=final)
            except LinkLost:
                self._set(RunState.LINK_LOST)
                try:
                    transport = await self.ctx.reconnect(self.node.name, self.spec.run_id)
                except LinkLost:  # the user cancelled while the link was down
                    return await self._cancelled_unreachable(status, telemetry)
                self._followed_on = transport
                self._set(RunState.RUNNING)
                continue
            now = time.monotonic()
            if (ev := progress.event(self.spec.run_id, now)) is not None:
                self.ctx.bus.publish(ev)
            if not status.live:
                break
            # A job waiting in a scheduler's queue cannot stall.
            stalled = not self._queued(status, progress, now) and (
                now - progress.last_change > stall_s
            )
            if stalled and self.state == RunState.RUNNING:
                self._set(RunState.STALLED, f"no new completions for {stall_s:g}s")
            elif not stalled and self.state == RunState.STALLED:
                self._set(RunState.RUNNING)
            # Once every sample is done the harness is about to exit: look more often, so the
            # console notices the end within ~50 ms instead of a whole poll interval.
            done, total, _ = progress.current()
            wait_s = min(poll_s, END_POLL_S) if total and done >= total else poll_s
            if self.cancelled:  # the kill was sent: wait for the process group to go
                await asyncio.sleep(min(poll_s, 0.2))
                continue
            await self._pause(transport, wait_s)
        if self.compliance is not None:  # the run is over: its audit.config goes now
            await self.compliance.remove(transport)
            if not (cancelled or self.cancelled) and status.exit_code == 0:
                log_dir = await self._log_dir(transport) or p.log_dir
                await self.compliance.run_verification(transport, log_dir, p.cwd or p.node_run_dir)
        telemetry_summary = await telemetry.stop() if telemetry is not None else None
        return await self._collect(
            transport, status, cancelled or self.cancelled, telemetry_summary
        )

    async def _pause(self, transport: Transport, wait_s: float) -> None:
        """Until the next poll: the next tick of `wait_s` (`next_tick`: at most `wait_s`), or
        less when the run is cancelled or (on a transport that watches the wrapper's process:
        the local one) the wrapper exits.

        One future, one timer and a callback on the transport's exit watch: no task per
        pause (64 runs pause twice a second each, and two tasks per pause were a good part
        of what following them cost)."""
        if self.cancelled:
            return
        loop = asyncio.get_running_loop()
        wake: asyncio.Future[None] = loop.create_future()

        def resolve() -> None:
            if not wake.done():
                wake.set_result(None)

        timer = loop.call_at(next_tick(loop.time(), wait_s), resolve)
        self._wakers.append(resolve)
        on_exit = getattr(transport, "on_exit", None)
        unsubscribe = None
        try:
            if on_exit is not None and self.handle is not None:
                unsubscribe = await on_exit(self.handle, resolve)
            await wake
        finally:
            timer.cancel()
            self._wakers.remove(resolve)
            if unsubscribe is not None:
                unsubscribe()

    async def _cancel_failed(self, reason: str, status: Any, telemetry: Any) -> RunSummary:
        """The kill did not go through: the run ends here as CANCEL_FAILED, its summary
        saying where it may still be going; the journal keeps it for a later `attach`."""
        p = self.placement
        assert p is not None and self.handle is not None
        telemetry_summary = await telemetry.stop() if telemetry is not None else None
        detail = (
            f"cancel failed: {reason}; the run may still be going on {self.node.name} in "
            f"{p.node_run_dir} ({_what_runs(self.handle)})"
        )
        start = status.started_at if status is not None else None
        return await self._write_summary(
            RunState.CANCEL_FAILED, None, detail, start, None, None, telemetry_summary
        )

    async def _cancelled_unreachable(self, status: Any, telemetry: Any) -> RunSummary:
        """Cancelled while the node could not be reached: say where the run may still be."""
        p = self.placement
        assert p is not None
        telemetry_summary = await telemetry.stop() if telemetry is not None else None
        detail = (
            f"cancelled while the link to {self.node.name} was down; the run may still be "
            f"going there in {p.node_run_dir} (kill its {_what_runs(self.handle)})"
            if self.handle
            else "cancelled while the link was down"
        )
        start = status.started_at if status is not None else None
        return await self._write_summary(
            RunState.CANCELLED, None, detail, start, None, None, telemetry_summary
        )

    async def record_unreachable(self, reason: str) -> RunSummary:
        """Re-attaching found the node unreachable: the run's summary says where it may still
        be going, and the journal keeps it unfinished so that a later `attach` follows it."""
        p = self.placement
        assert p is not None
        detail = (
            f"could not reach {self.node.name} to follow the run ({reason}); it may still be "
            f"going there in {p.node_run_dir}; `mlconsole attach` tries again"
        )
        return await self._write_summary(RunState.UNREACHABLE, None, detail, None, None, None, None)

    # --- steps --------------------------------------------------------------------------------

    def launch_env(self) -> dict[str, str]:
        """The environment the harness (and the accuracy step) runs with on the node."""
        env = dict(self.node.env)
        if self.node.gpus is not None:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in self.node.gpus)
        return env

    async def _poll_tails(
        self,
        transport: Transport,
        tails: dict[str, LineTail],
        progress: LiveProgress,
        *,
        final: bool,
    ) -> None:
        for stream in ("stdout", "stderr"):
            tail = tails[stream]
            lines = await tail.poll(transport, final=final)
            for line in lines:
                progress.harness_line(stream, line)
            if tail.partial:
                progress.harness_line(stream, tail.partial)
            if not lines:
                continue
            progress.last_change = time.monotonic()
            for i in range(0, len(lines), MAX_LOG_LINES_PER_EVENT):
                chunk = tuple(lines[i : i + MAX_LOG_LINES_PER_EVENT])
                self.ctx.bus.publish(RunLog(self.spec.run_id, stream, chunk))
        if "detail" not in tails:
            return  # the log_dir pattern matches no directory yet
        progress.detail.feed(await tails["detail"].poll(transport, final=final))
        self._notice_size(progress.detail.total)
        progress.trace.feed(await tails["trace"].poll(transport, final=final))
        if self.spec.mode == Mode.ACCURACY or progress.accuracy.completed or final:
            progress.accuracy.feed(await tails["accuracy"].poll(transport, final=final))

    async def _log_dir(self, transport: Transport) -> str | None:
        """Where LoadGen's logs are: the placement's log_dir, or the directory its pattern
        matches on the node (None until one does)."""
        p = self.placement
        assert p is not None
        if not is_pattern(p.log_dir):
            return p.log_dir
        if self._matched_log_dir is None:
            self._matched_log_dir = await match_log_dir(transport, p.log_dir)
        return self._matched_log_dir

    def _notice_size(self, total: int | None) -> None:
        """Once LoadGen's detail log gives the run's size: say so when it is not what was
        requested and nothing said so before launch (a harness that decides its settings)."""
        if total is None or self._size_noticed:
            return
        self._size_noticed = True
        predicted = self.resolution.size if self.resolution is not None else None
        if total == self.spec.samples or (predicted is not None and predicted.expected == total):
            return
        self.ctx.bus.publish(
            Notice(
                f"{self.spec.run_id}: LoadGen issues {total:,} samples, not the "
                f"{self.spec.samples:,} requested (its detail log: generated_query_count x "
                "generated_samples_per_query)",
                "warning",
            )
        )

    async def _collect(
        self,
        transport: Transport,
        status: Any,
        cancelled: bool,
        telemetry: Mapping[str, Any] | None,
    ) -> RunSummary:
        from engine.loadgen.parse import read_run_logs

        p = self.placement
        assert p is not None
        self._set(RunState.COLLECTING)
        fetch_ok, fetch_detail = True, ""
        while True:
            try:
                names = await transport.list_files(p.node_run_dir)
                report = await transport.fetch(p.node_run_dir, sorted(names), p.run_dir)
                log_dir = await self._log_dir(transport)
                if log_dir is not None and log_dir != p.node_run_dir:
                    logs = [
                        n for n in await transport.list_files(log_dir) if n.startswith(LOG_PREFIX)
                    ]
                    extra = await transport.fetch(log_dir, logs, p.run_dir)
                    report = type(report)(
                        report.copied + extra.copied,
                        report.missing + extra.missing,
                        report.bytes + extra.bytes,
                    )
                break
            except LinkLost:
                self._set(RunState.LINK_LOST)
                try:
                    transport = await self.ctx.reconnect(self.node.name, self.spec.run_id)
                except LinkLost:  # cancelled while the link was down
                    detail = (
                        f"cancelled while collecting; the files stay on {self.node.name} "
                        f"in {p.node_run_dir}"
                    )
                    start = status.started_at if status is not None else None
                    end = status.ended_at if status is not None else None
                    return await self._write_summary(
                        RunState.CANCELLED, None, detail, start, end, None, telemetry
                    )
                self._set(RunState.COLLECTING)
        if not report.ok:
            fetch_ok = False
            fetch_detail = (
                f"could not fetch {', '.join(report.missing)}; the files stay on "
                f"{self.node.name} in {p.node_run_dir}"
            )
        logs = await asyncio.to_thread(read_run_logs, p.run_dir)
        exit_code = status.exit_code if status is not None else None
        state, detail = _outcome(cancelled, status, logs, fetch_ok, fetch_detail, p.run_dir)
        if self.spec.mode == Mode.ACCURACY and self.benchmark.accuracy_command and not cancelled:
            from engine.run.accuracy_step import score_run

            self.ctx.bus.publish(
                Notice(f"{self.spec.run_id}: scoring accuracy on {self.node.name}")
            )
            self.accuracy = await score_run(self, transport, state.ok)
        start = status.started_at if status is not None else None
        # Only the node's clock: a killed wrapper writes no ended_at, and mixing in the
        # controller's clock would skew the duration by the clocks' difference.
        end = status.ended_at if status is not None else None
        return await self._write_summary(state, exit_code, detail, start, end, logs, telemetry)

    async def _finish_without_launch(self, state: RunState, detail: str) -> RunSummary:
        if self.placement is None:
            self.placement = Placement(self.ctx.store.new_run_dir(self.node.name), "", "", "")
        return await self._write_summary(state, None, detail, None, None, None, None)

    async def _write_summary(
        self,
        state: RunState,
        exit_code: int | None,
        detail: str,
        start: float | None,
        end: float | None,
        logs: Any,
        telemetry: Mapping[str, Any] | None,
    ) -> RunSummary:
        from engine.results.summary import build_run_summary

        p = self.placement
        assert p is not None
        files = [f.name for f in p.run_dir.iterdir() if f.is_file()] + [RUN_SUMMARY_FILE]
        summary = build_run_summary(
            spec=self.spec,
            benchmark=self.benchmark,
            run_dir_name=p.run_dir.name,
            simulated=self.benchmark.simulated or self.node.simulated,
            state=state,
            exit_code=exit_code,
            detail=detail,
            start_unix=start,
            end_unix=end,
            logs=logs,
            facts=self.ctx.facts(self.node.name),
            submission_round=self.ctx.config.settings.submission_round,
            telemetry=telemetry,
            files=files,
        )
        if self.accuracy is not None:
            summary = dataclasses.replace(summary, accuracy=self.accuracy)
        if (c := self.handle.container if self.handle else None) is not None:
            image = self.benchmark.container.image if self.benchmark.container else ""
            record = {"runtime": c.runtime, "image": image, "name": c.name}
            summary = dataclasses.replace(summary, container=record)
        if self.compliance is not None:
            await self.compliance.remove()  # already done unless the run ended early
            summary = dataclasses.replace(summary, compliance=self.compliance.record(p.run_dir))
        write_run_summary(p.run_dir, summary)
        # The controller's copies keep no secret (the node's own copies are mode 0600).
        await asyncio.to_thread(redact_dir, p.run_dir, self._secret_values())
        if state not in MAY_STILL_RUN:  # such a run stays in the journal for a later attach
            self.ctx.store.journal_finished(self.spec.run_id, p.run_dir.name, state)
        self.summary = summary
        self._set(state, detail)
        return summary

    def _queued(self, status: Any, progress: LiveProgress, now: float) -> bool:
        """PENDING in a scheduler (Slurm) is shown with its reason, live; the stall clock
        starts when the job does."""
        if status.state == "pending":
            reason = status.reason or "no reason given yet"
            detail = f"waiting in Slurm's queue ({status.scheduler_state}): {reason}"
            if self.state != RunState.PENDING or detail != self._pending_detail:
                self._pending_detail = detail
                self._set(RunState.PENDING, detail)
            return True
        job = self.handle.job_id if self.handle else None
        if job and not self._job_seen_running:
            # Once, when the job first runs: where Slurm placed it.
            self._job_seen_running = True
            progress.last_change = now
            on = f" on {status.host}" if status.host else ""
            self._set(RunState.RUNNING, f"Slurm job {job} running{on}")
        return False

    def _secret_values(self) -> list[str]:
        """The run's secrets: its node's env and vars so named, and the ones written in its
        command (the rendered one, or for a re-attached run the fetched command.sh)."""
        texts = [self.benchmark.command]
        if self.rendered is not None:
            texts.append(self.rendered.command)
        elif self.placement is not None:
            kept = self.placement.run_dir / detach.COMMAND
            if kept.is_file():
                texts.append(kept.read_text(errors="replace"))
        return secret_values(
            self.node.env, self.node.vars, texts, self.ctx.config.settings.secret_names
        )

    def _set(self, state: RunState, detail: str = "", run_dir: str | None = None) -> None:
        self.state = state
        if run_dir is None and self.placement is not None:
            run_dir = str(self.placement.run_dir)
        self.ctx.bus.publish(
            RunStateChanged(self.spec.run_id, self.node.name, state, detail, run_dir)
        )


def next_tick(now: float, interval: float) -> float:
    """The first multiple of `interval` on the event loop's clock after `now`.

    Every run polled at the same interval then wakes in the same loop iteration, rather than
    each on a timer of its own: on a virtual machine each separate wake-up of the process
    costs about 0.15 ms of CPU, so 64 runs at 0.5 s cost 2 % of a core in wake-ups alone, and
    2 wake-ups a second cost next to nothing. A poll comes at most `interval` after the
    last; once the runs are in step, exactly `interval` after it."""
    return (math.floor(now / interval) + 1) * interval


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern else None
