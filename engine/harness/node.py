"""The timing model of the simulated GPU node. Pure arithmetic: no threads, no LoadGen.

The node has `concurrency` slots. Each sample occupies one slot for a service time of
`concurrency / speed` seconds (times a small deterministic jitter), so a node kept full
completes `speed` samples per second. A sample waits for the earliest free slot, which is what
makes an overloaded Server run queue up and a SingleStream run (one sample in flight) reach
only `speed / concurrency` samples per second.

The value types here and in `settings` are named tuples, not dataclasses: importing
`dataclasses` pulls in `inspect` and costs about 10 ms on every launch of the harness.
"""

from __future__ import annotations

import heapq
from collections import namedtuple

# Service times vary by up to this fraction either way; the mean is unchanged.
JITTER = 0.05
# With tokens, the first token arrives after this fraction of the service time; the other
# tokens share the rest evenly (that spacing is the TPOT).
TTFT_FRACTION = 0.25

_MASK64 = (1 << 64) - 1


def splitmix64(x: int) -> int:
    """A well-mixed 64-bit hash; cheaper to import than `random` and stable across versions."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


class SimulatedNode(
    namedtuple("SimulatedNode", "speed concurrency tokens seed", defaults=(4, 0, 0))
):
    """Parameters of the simulated node (immutable).

    speed: samples/s with every slot busy; concurrency: parallel slots; tokens: output tokens
    per sample (0: no token latencies); seed: seed of the service-time jitter.
    """

    __slots__ = ()

    @property
    def service_s(self) -> float:
        """Mean time one sample occupies a slot."""
        return self.concurrency / self.speed

    @property
    def ttft_s(self) -> float:
        """Mean time to first token (0 without tokens)."""
        return self.service_s * TTFT_FRACTION if self.tokens > 0 else 0.0

    @property
    def tpot_s(self) -> float:
        """Mean time per output token after the first (0 with fewer than two tokens)."""
        if self.tokens < 2:
            return 0.0
        return (self.service_s - self.ttft_s) / (self.tokens - 1)

    def query_time_s(self, samples: int) -> float:
        """Time a query of `samples` takes on an idle node: rounds of `concurrency` samples."""
        rounds = -(-max(1, samples) // self.concurrency)
        return rounds * self.service_s

    def jittered_service_s(self, sequence: int) -> float:
        """Service time of the `sequence`-th sample the node receives (deterministic)."""
        u = splitmix64((self.seed << 32) ^ sequence) / _MASK64  # 0..1
        return self.service_s * (1.0 + JITTER * (2.0 * u - 1.0))


class Timing(namedtuple("Timing", "start first_token done")):
    """When one sample's simulated events happen, in seconds on the monotonic clock.

    `first_token` equals `start` when the node streams no tokens.
    """

    __slots__ = ()


class SlotSchedule:
    """Assigns arriving samples to the node's slots, first come first served."""

    def __init__(self, node: SimulatedNode) -> None:
        self._node = node
        self._free_at = [0.0] * node.concurrency  # a heap of slot free times
        self._sequence = 0

    def admit(self, now: float) -> Timing:
        """Timing of a sample arriving at `now`: it starts when a slot is free."""
        node = self._node
        free = heapq.heappop(self._free_at)
        start = max(now, free)
        service = node.jittered_service_s(self._sequence)
        self._sequence += 1
        done = start + service
        heapq.heappush(self._free_at, done)
        first = start + service * TTFT_FRACTION if node.tokens > 0 else start
        return Timing(start=start, first_token=first, done=done)
