"""Per-endpoint statistics of a fleet run, and the measured rate the dispatcher weighs by.

Everything here is measured by the controller's client, per attempt: TTFT is the first chunk
with output minus the instant the request was sent; TPOT is (end - first chunk) / (tokens - 1),
as vLLM's benchmark and LoadGen compute it. LoadGen's own figures (from each query's scheduled
instant, queueing included) are in its logs; these say how each node behaved.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

PERCENTILES = (50, 90, 99)
# Time constant of the rate average: long enough to smooth the bursts of completions of a
# batch, short enough to notice within seconds that a node slowed down.
RATE_TAU_S = 2.0


class RateMeter:
    """Tokens per second an endpoint delivers while it has work, as an exponentially decaying
    average over busy time (idle time neither counts nor decays the estimate)."""

    def __init__(self, tau_s: float = RATE_TAU_S) -> None:
        self.tau_s = tau_s
        self._tokens = 0.0
        self._time = 0.0
        self._last: float | None = None  # start of the current busy stretch being measured

    def busy(self, t: float) -> None:
        """The endpoint went from idle to having work at `t`."""
        self._last = t

    def idle(self, t: float) -> None:
        """It has no work left at `t`: account the busy stretch, then stop the clock."""
        self._advance(t)
        self._last = None

    def add(self, t: float, tokens: int) -> None:
        self._advance(t)
        self._tokens += tokens

    def _advance(self, t: float) -> None:
        if self._last is None:
            return
        dt = max(0.0, t - self._last)
        if dt > 0:
            decay = math.exp(-dt / self.tau_s)
            self._tokens *= decay
            self._time = self._time * decay + dt
        self._last = t

    @property
    def rate(self) -> float | None:
        """Tokens/s, or None before a first measurement (at least one token and 10 ms)."""
        if self._tokens <= 0 or self._time < 0.01:
            return None
        return self._tokens / self._time


def percentile(sorted_values: list[float], p: float) -> float | None:
    """The nearest-rank percentile (LoadGen's convention), None for no values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def distribution(values: list[float]) -> dict[str, float | None]:
    ordered = sorted(values)
    out: dict[str, float | None] = {f"p{p}": percentile(ordered, p) for p in PERCENTILES}
    out["mean"] = sum(ordered) / len(ordered) if ordered else None
    out["count"] = len(ordered)
    return out


@dataclass
class EndpointStats:
    """What one endpoint did during a run."""

    node: str
    url: str
    queries: int = 0  # completed here (each query counts on the endpoint that finished it)
    output_tokens: int = 0
    attempts: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    retried_away: int = 0  # queries that failed here and went to another endpoint
    token_sources: Counter[str] = field(default_factory=Counter)
    ttft_s: list[float] = field(default_factory=list)
    tpot_s: list[float] = field(default_factory=list)
    queue_s: list[float] = field(default_factory=list)
    first_sent: float | None = None
    last_done: float | None = None
    state: str = "up"
    state_detail: str = ""

    def record(
        self, t_sent: float, t_first: float, t_end: float, n_tokens: int, source: str
    ) -> None:
        self.queries += 1
        self.output_tokens += n_tokens
        self.token_sources[source] += 1
        self.ttft_s.append(t_first - t_sent)
        if n_tokens > 1:
            self.tpot_s.append((t_end - t_first) / (n_tokens - 1))
        self.last_done = t_end

    def to_dict(self, total_queries: int, total_tokens: int) -> dict[str, Any]:
        span = (
            self.last_done - self.first_sent
            if self.first_sent is not None and self.last_done is not None
            else None
        )
        return {
            "node": self.node,
            "url": self.url,
            "state": self.state,
            "state_detail": self.state_detail,
            "queries": self.queries,
            "output_tokens": self.output_tokens,
            "query_share": self.queries / total_queries if total_queries else None,
            "token_share": self.output_tokens / total_tokens if total_tokens else None,
            "tokens_per_s": self.output_tokens / span if span and span > 0 else None,
            "attempts": self.attempts,
            "errors": dict(sorted(self.errors.items())),
            "error_count": sum(self.errors.values()),
            "retried_away": self.retried_away,
            "token_sources": dict(sorted(self.token_sources.items())),
            "ttft_s": distribution(self.ttft_s),
            "tpot_s": distribution(self.tpot_s),
            "queue_s": distribution(self.queue_s),
        }
