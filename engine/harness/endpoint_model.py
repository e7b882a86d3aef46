"""The timing model of the simulated inference endpoint. Pure arithmetic and one asyncio lock;
no HTTP, no LoadGen.

A served model has `concurrency` batch slots. A request waits for a free slot (first come,
first served), spends `prefill_s` before its first token, then produces one token every
`concurrency / tokens_per_s` seconds, so a full batch yields `tokens_per_s` tokens per second.
`speed` scales every later step: setting it to 0.5 mid-run halves the endpoint's rate from
that instant (the bench uses it to slow a node down halfway through).

The token ids a request produces are a deterministic function of its prompt, so two
endpoints serving the same prompt answer the same ids (a retried query logs the same data).
"""

from __future__ import annotations

import asyncio
import time
from collections import namedtuple

from engine.harness.node import splitmix64

_VOCAB = 128000
_MASK64 = (1 << 64) - 1


def prompt_seed(prompt: object) -> int:
    """A stable seed for a prompt: a list of token ids or a string."""
    h = 0x6A09E667F3BCC908
    if isinstance(prompt, str):
        items = prompt.encode("utf-8", "replace")
    elif isinstance(prompt, list):
        items = prompt
    else:
        items = repr(prompt).encode()
    for v in items[:4096]:
        h = splitmix64(h ^ (int(v) & _MASK64))
    return h


def output_ids(seed: int, count: int) -> list[int]:
    """The `count` token ids the simulated model generates for a prompt of `seed`."""
    return [1000 + splitmix64(seed ^ (j << 20)) % (_VOCAB - 1000) for j in range(count)]


class Rates(namedtuple("Rates", "tokens_per_s concurrency prefill_s")):
    """The endpoint's simulated capacity (immutable). tokens_per_s: with every slot busy;
    concurrency: batch slots; prefill_s: time from a slot to the first token."""

    __slots__ = ()

    @property
    def token_interval_s(self) -> float:
        """Time between two tokens of one request at speed 1."""
        return self.concurrency / self.tokens_per_s


class SimulatedModel:
    """Shared state of one endpoint: slots, the speed factor, and counters for /metrics."""

    def __init__(self, rates: Rates) -> None:
        self.rates = rates
        self.speed = 1.0
        self._slots = asyncio.Semaphore(rates.concurrency)
        self.running = 0
        self.waiting = 0
        self.requests_total = 0
        self.generation_tokens_total = 0
        self.prompt_tokens_total = 0
        self.ttft_s: list[float] = []  # arrival -> first token, per finished request

    async def acquire(self) -> None:
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.running += 1

    def release(self) -> None:
        self.running -= 1
        self._slots.release()

    def step_s(self) -> float:
        """Time to the next token of one request at the current speed."""
        return self.rates.token_interval_s / self.speed

    def prefill_step_s(self) -> float:
        return self.rates.prefill_s / self.speed

    def stats(self) -> dict[str, object]:
        ttft = sorted(self.ttft_s)
        median = ttft[len(ttft) // 2] if ttft else None
        return {
            "simulated": True,
            "tokens_per_s": self.rates.tokens_per_s,
            "concurrency": self.rates.concurrency,
            "prefill_s": self.rates.prefill_s,
            "speed": self.speed,
            "running": self.running,
            "waiting": self.waiting,
            "requests_total": self.requests_total,
            "generation_tokens_total": self.generation_tokens_total,
            "prompt_tokens_total": self.prompt_tokens_total,
            "ttft_median_s": median,
            "ttft_count": len(ttft),
        }


async def sleep_until(deadline: float) -> None:
    """Sleep to an absolute monotonic time, so per-token overheads do not add up."""
    delay = deadline - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
