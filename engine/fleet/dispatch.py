"""The queue between LoadGen and the endpoints, on the event loop.

Each query goes to the endpoint whose outstanding work, relative to its measured rate, is the
least: score = (outstanding tokens + this query's) / measured tokens/s, so the expected time to
finish is what is balanced. A fast node gets more, a node that slows down gets less as its
measured rate falls, and nothing is calibrated first (an endpoint not yet measured is assumed
as fast as the fastest measured one). When the best endpoint is at its `max_in_flight`, the
query waits here rather than going to a worse one: that keeps every node's expected drain time
equal, so the fleet finishes together.

Faults: a failed attempt (refused, HTTP error, not the API, a cut stream, a timeout) is
counted on its endpoint and the query goes to another endpoint, at most `max_retries` times.
An endpoint that refuses, or fails `DOWN_AFTER` times in a row, is marked down and probed on
`/health` until it answers again. Each query is completed exactly once (`Sink.done` or
`Sink.failed`) and its first token reported at most once, whichever endpoint served it. When
no endpoint is up, every waiting query is failed at once and `failed_reason` says why: the run
ends, it never hangs. One query per request: the dispatcher never batches.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from engine.fleet import api
from engine.fleet.client import EndpointClient, EndpointFailure, StreamResult
from engine.fleet.stats import EndpointStats, RateMeter

DOWN_AFTER = 3
PROBE_EVERY_S = 1.0


@dataclass
class Job:
    """One LoadGen query on its way through the fleet."""

    query_id: int
    index: int
    body: bytes
    issued: float  # monotonic, when LoadGen's issue reached the loop
    expected_tokens: int
    attempts: int = 0
    tried: set[str] = field(default_factory=set)
    first_reported: bool = False
    last_error: str = ""


class Sink(Protocol):
    """Where answers go (the LoadGen SUT). Called on the event loop's thread."""

    def first_token(self, job: Job, t: float, chunk: api.Chunk) -> None: ...

    def done(self, job: Job, result: StreamResult, node: str) -> None: ...

    def failed(self, job: Job, reason: str) -> None: ...


class Endpoint:
    """One node's endpoint as the dispatcher sees it."""

    def __init__(self, node: str, client: EndpointClient, max_in_flight: int) -> None:
        self.node = node
        self.client = client
        self.max_in_flight = max(1, max_in_flight)
        self.stats = EndpointStats(node=node, url=client.base_url)
        self.meter = RateMeter()
        self.in_flight = 0
        self.outstanding = 0  # tokens still expected from the in-flight queries
        self.consecutive_failures = 0
        self.up = True
        self.probe: asyncio.Task[None] | None = None

    def score(self, extra: int, assumed_rate: float) -> float:
        rate = self.meter.rate or assumed_rate
        return (self.outstanding + extra) / rate


class Dispatcher:
    """Runs on one event loop; `submit` is called on that loop (the SUT hops there first)."""

    def __init__(
        self,
        endpoints: list[Endpoint],
        sink: Sink | None = None,
        *,
        max_retries: int = 2,
        request_timeout_s: float = 600.0,
        max_concurrency: int | None = None,
    ) -> None:
        if not endpoints:
            raise ValueError("a fleet needs at least one endpoint")
        self.endpoints = endpoints
        self.sink: Sink = sink  # type: ignore[assignment]  # the SUT sets itself
        self.max_retries = max_retries
        self.request_timeout_s = request_timeout_s
        self.max_concurrency = max_concurrency
        self.queue: deque[Job] = deque()
        self.in_flight = 0
        self.completed = 0
        self.failed = 0
        self.retries = 0
        self.output_tokens = 0
        self.failed_reason: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    # --- intake -------------------------------------------------------------------------------

    def submit(self, jobs: list[Job]) -> None:
        self.queue.extend(jobs)
        self._pump()

    @property
    def live(self) -> list[Endpoint]:
        return [e for e in self.endpoints if e.up]

    # --- choosing -----------------------------------------------------------------------------

    def _choose(self, job: Job) -> Endpoint | None:
        """The endpoint for `job`, or None to keep it waiting."""
        live = self.live
        if not live:
            return None
        if job.tried:
            fresh = [e for e in live if e.node not in job.tried]
            live = fresh or live
        rates = [e.meter.rate for e in live if e.meter.rate]
        assumed = max(rates) if rates else 1.0
        best = min(live, key=lambda e: (e.score(job.expected_tokens, assumed), e.in_flight))
        if best.in_flight >= best.max_in_flight:
            return None
        return best

    def _pump(self) -> None:
        while self.queue:
            if self.max_concurrency is not None and self.in_flight >= self.max_concurrency:
                return
            if not self.live:
                self._fail_all("no endpoint is left: " + self._down_reasons())
                return
            job = self.queue[0]
            ep = self._choose(job)
            if ep is None:
                return
            self.queue.popleft()
            self._start(job, ep)

    def _start(self, job: Job, ep: Endpoint) -> None:
        job.attempts += 1
        job.tried.add(ep.node)
        if ep.in_flight == 0:
            ep.meter.busy(time.monotonic())
        ep.in_flight += 1
        ep.outstanding += job.expected_tokens
        ep.stats.attempts += 1
        self.in_flight += 1
        task = asyncio.get_running_loop().create_task(self._attempt(job, ep))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- one attempt --------------------------------------------------------------------------

    async def _attempt(self, job: Job, ep: Endpoint) -> None:
        t_sent = time.monotonic()
        if ep.stats.first_sent is None:
            ep.stats.first_sent = t_sent
        ep.stats.queue_s.append(t_sent - job.issued)

        def on_first(t: float, chunk: api.Chunk) -> None:
            ep.meter.add(t, 1)
            if not job.first_reported:
                job.first_reported = True
                self.sink.first_token(job, t, chunk)

        result: StreamResult | None = None
        failure: EndpointFailure | None = None
        try:
            async with asyncio.timeout(self.request_timeout_s):
                result = await ep.client.complete(job.body, on_first)
        except TimeoutError:
            failure = EndpointFailure(
                EndpointFailure.TIMEOUT, f"no complete answer within {self.request_timeout_s:g} s"
            )
        except EndpointFailure as exc:
            failure = exc
        except asyncio.CancelledError:
            self._release(job, ep, time.monotonic())
            if not self._closed:  # abandoned: the query still needs its one answer
                self.failed += 1
                self.sink.failed(job, self.failed_reason or "cancelled")
            raise
        now = time.monotonic()
        self._release(job, ep, now)
        if result is not None:
            ep.consecutive_failures = 0
            ep.meter.add(now, max(0, result.n_tokens - 1))
            ep.stats.record(
                result.t_sent, result.t_first, result.t_end, result.n_tokens, result.token_source
            )
            self.completed += 1
            self.output_tokens += result.n_tokens
            self.sink.done(job, result, ep.node)
        else:
            assert failure is not None
            self._attempt_failed(job, ep, failure)
        self._pump()

    def _release(self, job: Job, ep: Endpoint, now: float) -> None:
        ep.in_flight -= 1
        ep.outstanding -= job.expected_tokens
        self.in_flight -= 1
        if ep.in_flight == 0:
            ep.meter.idle(now)

    def _attempt_failed(self, job: Job, ep: Endpoint, failure: EndpointFailure) -> None:
        ep.stats.errors[failure.kind] += 1
        ep.consecutive_failures += 1
        job.last_error = f"{ep.node}: {failure}"
        if ep.up and (
            failure.kind == EndpointFailure.REFUSED or ep.consecutive_failures >= DOWN_AFTER
        ):
            self._mark_down(ep, str(failure))
        if job.attempts > self.max_retries:
            self.failed += 1
            self.sink.failed(job, f"failed {job.attempts} attempt(s); last: {job.last_error}")
            return
        ep.stats.retried_away += 1
        self.retries += 1
        self.queue.appendleft(job)  # a retried query goes first: it has waited longest

    # --- endpoint health ----------------------------------------------------------------------

    def _mark_down(self, ep: Endpoint, reason: str) -> None:
        if self.failed_reason is not None:
            return
        ep.up = False
        ep.stats.state = "down"
        ep.stats.state_detail = reason
        if not self._closed:
            ep.probe = asyncio.get_running_loop().create_task(self._probe(ep))

    async def _probe(self, ep: Endpoint) -> None:
        """Ask `/health` until it answers 200, then take the endpoint back."""
        while not self._closed:
            await asyncio.sleep(PROBE_EVERY_S)
            try:
                status, _, _ = await ep.client.get(api.HEALTH_PATH, timeout_s=2.0)
            except EndpointFailure:
                continue
            if status == 200:
                ep.up = True
                ep.consecutive_failures = 0
                ep.stats.state = "up"
                ep.stats.state_detail = f"back after: {ep.stats.state_detail}"
                self._pump()
                return

    def _down_reasons(self) -> str:
        return "; ".join(f"{e.node} ({e.stats.state_detail})" for e in self.endpoints)

    def abandon(self, reason: str) -> None:
        """Answer everything now as failed (a cancelled run): queued queries at once,
        in-flight ones as their attempts are cancelled, later ones on arrival."""
        if self.failed_reason is not None:
            return
        self.failed_reason = reason
        for ep in self.endpoints:
            ep.up = False
        for task in list(self._tasks):
            task.cancel()
        self._fail_all(reason)

    def _fail_all(self, reason: str) -> None:
        if self.failed_reason is None:
            self.failed_reason = reason
        while self.queue:
            job = self.queue.popleft()
            self.failed += 1
            self.sink.failed(job, reason)

    # --- end ----------------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop probes and in-flight attempts (their queries were already answered or the
        run is being abandoned), then close the clients."""
        self._closed = True
        for ep in self.endpoints:
            if ep.probe is not None:
                ep.probe.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(
            *self._tasks, *(e.probe for e in self.endpoints if e.probe), return_exceptions=True
        )
        for ep in self.endpoints:
            await ep.client.close()

    def endpoint_stats(self) -> list[dict[str, object]]:
        total_q = sum(e.stats.queries for e in self.endpoints)
        total_t = sum(e.stats.output_tokens for e in self.endpoints)
        return [e.stats.to_dict(total_q, total_t) for e in self.endpoints]
