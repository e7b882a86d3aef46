"""The fleet's LoadGen SUT and QSL, on the controller, in the orchestrator's process.

LoadGen times every query from its scheduled instant, so `issue_queries` (called on LoadGen's
issue thread) only hands the samples to the event loop (`call_soon_threadsafe`) and returns.
On the loop, each sample becomes one request (`Dispatcher`); the first streamed token goes to
LoadGen as `FirstTokenComplete` and the end as `QuerySamplesComplete` with the token count,
both called from the loop's thread (LoadGen documents them as thread-safe and wait-free). The
response data is the generated ids as int32 (what the reference evaluation and TEST06 read),
or the UTF-8 text when the server does not return ids.

LoadGen is constructed with `ConstructQDL`, so its SUT name comes from a network round trip
that gathers every endpoint's model: "mlconsole fleet Network SUT (gpu1: llama, gpu2: llama)".
`StartTestWithLogSettings` blocks, so it runs in a worker thread; the loop keeps serving.
"""

from __future__ import annotations

import asyncio
import sys
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import mlperf_loadgen as lg

from engine.fleet import api
from engine.fleet.client import EndpointFailure, StreamResult
from engine.fleet.dataset import Prompts
from engine.fleet.dispatch import Dispatcher, Job

NAME_PREFIX = "mlconsole fleet Network SUT"
# The GIL switch interval while LoadGen runs here: LoadGen's issue thread needs the GIL for
# each callback, and Python's default (5 ms) would add up to that much to a query's latency.
SWITCH_INTERVAL_S = 0.0005


@dataclass(eq=False)
class FleetSut:
    """LoadGen's callbacks on one side, the dispatcher's sink on the other (it makes itself
    the dispatcher's sink). The counts are what LoadGen was sent, on the loop's thread."""

    loop: asyncio.AbstractEventLoop
    dispatcher: Dispatcher
    prompts: Prompts
    template: api.BodyTemplate
    expected_tokens: int
    issued: int = field(default=0, init=False)
    first_tokens: int = field(default=0, init=False)
    answered: int = field(default=0, init=False)
    failures: list[str] = field(default_factory=list, init=False)
    sut_name: str = field(default=NAME_PREFIX, init=False)

    def __post_init__(self) -> None:
        self.dispatcher.sink = self

    # --- LoadGen's threads --------------------------------------------------------------------

    def issue_queries(self, samples: Sequence[lg.QuerySample]) -> None:
        items = [(s.id, s.index) for s in samples]
        self.loop.call_soon_threadsafe(self._enqueue, items, time.monotonic())

    def flush_queries(self) -> None:
        """Nothing is held back: every query is sent as soon as an endpoint can take it."""

    def name(self) -> str:
        """LoadGen's SUT name, from one round trip to every endpoint (called once, at test
        start, on LoadGen's thread)."""
        future = asyncio.run_coroutine_threadsafe(self._gather_names(), self.loop)
        try:
            self.sut_name = future.result(timeout=15)
        except Exception:  # noqa: BLE001 - a name must come back whatever happened
            future.cancel()
            nodes = ", ".join(e.node for e in self.dispatcher.endpoints)
            self.sut_name = f"{NAME_PREFIX} ({nodes}; models not confirmed)"
        return self.sut_name

    async def _gather_names(self) -> str:
        async def one(ep) -> str:  # noqa: ANN001
            try:
                ids = await ep.client.models(timeout_s=5.0)
            except EndpointFailure:
                return f"{ep.node}: unreachable"
            return f"{ep.node}: {', '.join(ids) or 'no model'}"

        parts = await asyncio.gather(*(one(e) for e in self.dispatcher.endpoints))
        return f"{NAME_PREFIX} ({'; '.join(parts)})"

    # --- the loop's thread --------------------------------------------------------------------

    def _enqueue(self, items: list[tuple[int, int]], t: float) -> None:
        prompts, body, expected = self.prompts.encoded, self.template.body, self.expected_tokens
        jobs = [Job(qid, index, body(prompts[index]), t, expected) for qid, index in items]
        self.issued += len(jobs)
        self.dispatcher.submit(jobs)

    def first_token(self, job: Job, t: float, chunk: api.Chunk) -> None:
        self.first_tokens += 1
        data = _payload(list(chunk.token_ids[:1]) if chunk.token_ids else None, chunk.text)
        address, length = data.buffer_info()
        lg.FirstTokenComplete(
            [lg.QuerySampleResponse(job.query_id, address, length * data.itemsize)]
        )

    def done(self, job: Job, result: StreamResult, node: str) -> None:
        self.answered += 1
        data = _payload(result.token_ids, result.text)
        address, length = data.buffer_info()
        response = lg.QuerySampleResponse(
            job.query_id, address, length * data.itemsize, result.n_tokens
        )
        lg.QuerySamplesComplete([response])

    def failed(self, job: Job, reason: str) -> None:
        self.answered += 1
        if len(self.failures) < 20:
            self.failures.append(f"query {job.query_id} (sample {job.index}): {reason}")
        lg.QuerySamplesComplete([lg.QuerySampleResponse(job.query_id, 0, 0)])


def _payload(ids: list[int] | None, text: str) -> array:
    if ids:
        return array("i", ids)
    return array("B", text.encode("utf-8"))


def _no_op(indices: object) -> None:
    """Prompts are in memory from the start: nothing to load or unload."""


async def run_loadgen(
    sut: FleetSut, settings: lg.TestSettings, log_dir: Path, *, trace: bool = False
) -> None:
    """One LoadGen test over the fleet, its logs in `log_dir`; returns when LoadGen ends."""
    n = len(sut.prompts)
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = str(log_dir)
    log_settings.log_output.copy_summary_to_stdout = False
    log_settings.enable_trace = trace
    # A path that does not exist: a stray audit.config in the controller's cwd must not
    # silently replace the settings.
    audit = str(log_dir / "no-audit.config")

    def blocking() -> None:
        qsl = lg.ConstructQSL(n, n, _no_op, _no_op)
        qdl = lg.ConstructQDL(sut.issue_queries, sut.flush_queries, sut.name)
        try:
            lg.StartTestWithLogSettings(qdl, qsl, settings, log_settings, audit)
        finally:
            lg.DestroyQDL(qdl)
            lg.DestroyQSL(qsl)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        await asyncio.to_thread(blocking)
    finally:
        sys.setswitchinterval(previous)
