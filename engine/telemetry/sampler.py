"""Sampling one node's GPUs for as long as someone listens: NVML for the controller's own
GPUs, one long-lived `nvidia-smi -lms` stream for an SSH node.

The stream is checked first with a one-shot query, which also says how many GPUs a tick has,
so a batch is complete as soon as its last GPU line arrives (nvidia-smi stamps each GPU's line
separately, so lines of one tick do not share a timestamp). When the link drops, batches say
'stale' until the node is back; when the stream ends, the check runs again and either restarts
it or reports why nvidia-smi no longer works. A node without a driver or without nvidia-smi
gives one batch saying so, and sampling stops: no made-up numbers, no exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC

from engine.errors import LinkLost, MlconsoleError
from engine.model import GpuSample, NodeSpec
from engine.telemetry.nvml import NvmlSampler
from engine.telemetry.nvsmi import (
    classify_failure,
    first_line,
    parse_line,
    query_argv,
    stream_argv,
)
from engine.transport.base import Transport

BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0)
CHECK_TIMEOUT_S = 20.0
MIN_INTERVAL_MS = 50
# A node clock further than this from the controller's, by a whole number of quarter hours,
# is read as nvidia-smi ignoring TZ=UTC (printing its own local time), and corrected.
_ZONE_STEP_S = 900.0
_ZONE_SLACK_S = 120.0


@dataclass(frozen=True)
class TelemetryBatch:
    """One tick of one node: every sampled GPU's reading, or none and a state saying why.

    state: 'ok' | 'no-driver' | 'no-nvidia-smi' | 'error' | 'stale' (link down, retrying).
    """

    node: str
    state: str
    samples: tuple[GpuSample, ...]
    detail: str = ""


async def sample_node(
    transport: Transport,
    node: NodeSpec,
    interval_s: float,
    *,
    source: str | None = None,
    backoff: Sequence[float] = BACKOFF_S,
) -> AsyncIterator[TelemetryBatch]:
    """Batches from `node` every `interval_s` until the caller stops iterating (or cancels).

    `source` is 'nvml' (the controller's GPUs, used for local nodes) or 'nvidia-smi' (the
    stream over `transport`, used for SSH nodes); None picks by `node.transport`. With
    `node.gpus` set, only those GPUs are sampled.
    """
    source = source or ("nvml" if node.transport == "local" else "nvidia-smi")
    interval_s = max(interval_s, MIN_INTERVAL_MS / 1000)
    if source == "nvml":
        batches = _sample_nvml(node, interval_s)
    elif source == "nvidia-smi":
        batches = _sample_stream(transport, node, interval_s, tuple(backoff) or BACKOFF_S)
    else:
        raise ValueError(f"unknown telemetry source {source!r} (expected 'nvml' or 'nvidia-smi')")
    async with contextlib.aclosing(batches):
        async for batch in batches:
            yield batch


async def _sample_nvml(node: NodeSpec, interval_s: float) -> AsyncIterator[TelemetryBatch]:
    sampler = NvmlSampler(node.gpus)
    state = await asyncio.to_thread(sampler.open)
    if state != "ok":
        yield TelemetryBatch(node.name, state, (), sampler.detail)
        return
    loop = asyncio.get_running_loop()
    try:
        due = loop.time()
        while True:
            samples = await asyncio.to_thread(sampler.sample, node.name)
            yield TelemetryBatch(node.name, "ok", tuple(samples))
            due += interval_s
            now = loop.time()
            if due < now:  # fell behind (a slow consumer): skip ticks rather than burst
                due = now
            await asyncio.sleep(due - now)
    finally:
        sampler.close()


def _on_node(argv: list[str]) -> list[str]:
    """nvidia-smi prints local time without a zone; make that zone UTC on every node."""
    return ["env", "TZ=UTC", *argv]


async def _sample_stream(
    transport: Transport, node: NodeSpec, interval_s: float, backoff: tuple[float, ...]
) -> AsyncIterator[TelemetryBatch]:
    argv = _on_node(stream_argv(max(MIN_INTERVAL_MS, round(interval_s * 1000))))
    wanted = frozenset(node.gpus) if node.gpus is not None else None
    clock = _NodeClock()
    retries = 0
    while True:
        reason = ""
        try:
            check = await transport.run(_on_node(query_argv()), timeout=CHECK_TIMEOUT_S)
            rows = [parse_line(li, node.name, tz=UTC) for li in check.stdout.splitlines()]
            listed = sorted({r.gpu for r in rows if r is not None})
            if check.exit_status != 0 or not listed:
                text = f"{check.stdout}\n{check.stderr}"
                detail = first_line(text) or (
                    f"nvidia-smi exited with status {check.exit_status} and listed no GPU"
                )
                yield TelemetryBatch(
                    node.name, classify_failure(text, check.exit_status), (), detail
                )
                return
            expected = len(listed) if wanted is None else len(wanted & set(listed))
            if expected == 0:
                yield TelemetryBatch(
                    node.name,
                    "error",
                    (),
                    f"none of the configured gpus {sorted(wanted or ())} is among the GPUs "
                    f"nvidia-smi lists ({listed})",
                )
                return
            got = 0
            lines = transport.stream_lines(argv)
            async with contextlib.aclosing(lines):
                async for batch in _ticks(lines, node.name, expected, wanted, clock):
                    got += 1
                    retries = 0
                    yield batch
            if got:
                continue  # nvidia-smi ended after streaming: check again, then restart
            reason = "the nvidia-smi stream ended without a reading"
        except LinkLost as exc:
            reason = f"link lost ({exc.reason})"
        except MlconsoleError as exc:  # TransportError: the node answered, the command failed
            reason = str(exc)
        while True:  # wait, reconnect if needed, then check and stream again
            yield TelemetryBatch(node.name, "stale", (), f"{reason}; retrying")
            await asyncio.sleep(backoff[min(retries, len(backoff) - 1)])
            retries += 1
            try:
                if not transport.connected:
                    await transport.connect()
                break
            except (MlconsoleError, OSError) as exc:
                reason = str(exc)


async def _ticks(
    lines: AsyncIterator[str],
    node: str,
    expected: int,
    wanted: frozenset[int] | None,
    clock: _NodeClock,
) -> AsyncIterator[TelemetryBatch]:
    """Group stream lines into one batch per tick: a tick is complete when it holds
    `expected` GPUs, or when a GPU shows up a second time (one GPU stopped answering)."""
    pending: dict[int, GpuSample] = {}
    async for line in lines:
        sample = parse_line(line, node, tz=UTC)
        if sample is None or (wanted is not None and sample.gpu not in wanted):
            continue
        if sample.gpu in pending:
            yield clock.batch(node, pending)
            pending = {}
        pending[sample.gpu] = sample
        if len(pending) >= expected:
            yield clock.batch(node, pending)
            pending = {}
    if pending:
        yield clock.batch(node, pending)


@dataclass
class _NodeClock:
    """Corrects a node whose nvidia-smi ignored TZ=UTC: decided once, on the first tick, from
    the controller's clock at arrival."""

    shift_s: float | None = None

    def batch(self, node: str, pending: dict[int, GpuSample]) -> TelemetryBatch:
        samples = [pending[g] for g in sorted(pending)]
        if self.shift_s is None:
            skew = time.time() - samples[0].ts
            zones = round(skew / _ZONE_STEP_S) * _ZONE_STEP_S
            near = abs(zones) >= _ZONE_STEP_S and abs(skew - zones) < _ZONE_SLACK_S
            self.shift_s = zones if near else 0.0
        if not self.shift_s:
            return TelemetryBatch(node, "ok", tuple(samples))
        shifted = tuple(dataclasses.replace(s, ts=s.ts + self.shift_s) for s in samples)
        note = (
            f"node times were {-self.shift_s / 3600:+g} h off (nvidia-smi printed local time "
            "despite TZ=UTC) and were corrected"
        )
        return TelemetryBatch(node, "ok", shifted, note)
