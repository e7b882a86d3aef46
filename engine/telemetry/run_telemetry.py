"""Telemetry for the length of one run: sample the run's node, record telemetry.csv in the run
dir, publish each batch, and hand back the summary section when the run ends.

The orchestrator needs two calls: `await RunTelemetry.start(...)` when the run starts and
`await handle.stop()` when it ends. Nothing here can fail a run: any problem while sampling
or recording ends up as the telemetry state ('error') with its reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from engine.events import TelemetrySampled
from engine.model import GpuSample, NodeSpec
from engine.telemetry.record import TelemetryRecorder, write_state
from engine.telemetry.sampler import TelemetryBatch, sample_node
from engine.telemetry.stats import summarize
from engine.transport.base import Transport

TELEMETRY_CSV = "telemetry.csv"


class _Publisher(Protocol):
    def publish(self, event: Any) -> None: ...


Sink = _Publisher | Callable[[TelemetryBatch], None]


class RunTelemetry:
    """A run's telemetry, running in a task of its own between `start` and `stop`."""

    def __init__(self, node: NodeSpec, run_dir: Path, sink: Sink | None = None) -> None:
        self.node = node
        self.path = Path(run_dir) / TELEMETRY_CSV
        self.samples: list[GpuSample] = []
        self.batches = 0
        self.stale_episodes = 0
        self.last_state: str | None = None
        self.last_detail = ""
        self._notes: list[str] = []
        self._recorder = TelemetryRecorder(self.path)
        self._sink = sink
        self._task: asyncio.Task[None] | None = None
        self._started = time.time()
        self._stopped: dict[str, Any] | None = None

    @classmethod
    async def start(
        cls,
        transport: Transport,
        node: NodeSpec,
        run_dir: Path,
        interval_s: float,
        sink: Sink | None = None,
        *,
        source: str | None = None,
        wait: Callable[[], Awaitable[None]] | None = None,
    ) -> RunTelemetry:
        """Start sampling `node` into `run_dir`/telemetry.csv. `sink` is an EventBus (each
        batch is published as TelemetrySampled) or a callable taking each TelemetryBatch.
        `wait`, when given, is awaited first (a Slurm job's steps can only start once the
        job runs: queued, there is nowhere to sample)."""
        self = cls(node, run_dir, sink)

        async def sample() -> None:
            if wait is not None:
                await wait()
            await self._consume(sample_node(transport, node, interval_s, source=source))

        self._task = asyncio.create_task(sample(), name=f"telemetry-{node.name}")
        return self

    async def stop(self) -> dict[str, Any]:
        """Stop sampling, close telemetry.csv, write telemetry.state.json, and return the
        "telemetry" section for orchestrator_summary.json: {state, detail, samples, gpus}.
        Calling it again returns the same section."""
        if self._stopped is not None:
            return self._stopped
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        state, detail = self._outcome()
        try:
            self._recorder.close()
            write_state(
                self.path,
                self.node.name,
                state,
                detail,
                samples=len(self.samples),
                started_at=self._started,
                stopped_at=time.time(),
            )
        except OSError as exc:
            state, detail = "error", f"could not write {self.path.name}: {exc}"
        self._stopped = summarize(self.samples, state=state, detail=detail)
        return self._stopped

    async def _consume(self, batches: Any) -> None:
        try:
            async with contextlib.aclosing(batches):
                async for batch in batches:
                    self._on_batch(batch)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - telemetry must never take a run down
            self._note("error", f"telemetry stopped: {type(exc).__name__}: {exc}")

    def _on_batch(self, batch: TelemetryBatch) -> None:
        self.batches += 1
        if batch.state == "stale" and self.last_state != "stale":
            self.stale_episodes += 1
        if batch.samples:
            self._recorder.write(batch.samples)
            self.samples.extend(batch.samples)
        self._note(batch.state, batch.detail)
        self._publish(batch)

    def _note(self, state: str, detail: str) -> None:
        self.last_state, self.last_detail = state, detail
        if state == "ok" and detail and detail not in self._notes:
            self._notes.append(detail)

    def _publish(self, batch: TelemetryBatch) -> None:
        if self._sink is None:
            return
        publish = getattr(self._sink, "publish", None)
        if publish is not None:
            publish(TelemetrySampled(batch.node, batch.samples, batch.state))
        else:
            self._sink(batch)  # type: ignore[operator]

    def _outcome(self) -> tuple[str, str]:
        """The run's telemetry state: 'ok' once any reading was recorded (with what went
        wrong meanwhile in the detail), else why there is none."""
        notes = list(self._notes)
        if self.stale_episodes:
            notes.append(f"link lost {self.stale_episodes} time(s); no readings while it was down")
        if self.samples:
            if self.last_state not in ("ok", "stale", None):
                notes.append(f"sampling ended early: {self.last_state}: {self.last_detail}")
            return "ok", "; ".join(notes)
        if self.last_state is None:
            return "no samples", "the run ended before the first reading"
        if self.last_state == "ok":
            return "no samples", "nvidia-smi listed no GPU readings"
        return self.last_state, self.last_detail
