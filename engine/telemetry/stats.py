"""Per-GPU statistics of a run's samples: what orchestrator_summary.json records under
"telemetry". A figure with no readings behind it is None, never 0."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from engine.model import GpuSample


@dataclass(frozen=True)
class TelemetryStats:
    """One GPU of one node over a run.

    `samples` counts every reading; `util_samples` those with a utilization (a MIG-enabled
    GPU has none). `util_p95` is the nearest-rank 95th percentile: the smallest reading that
    at least 95% of the readings do not exceed.
    """

    node: str
    gpu: int
    name: str | None
    samples: int
    util_samples: int
    util_mean: float | None
    util_p95: float | None
    util_max: float | None
    mem_peak_mib: float | None
    mem_total_mib: float | None
    first_ts: float | None
    last_ts: float | None

    @classmethod
    def of(cls, samples: Iterable[GpuSample]) -> TelemetryStats:
        """The statistics of one GPU's samples (all of the same node and GPU, at least one)."""
        rows = sorted(samples, key=lambda s: s.ts)
        if not rows:
            raise ValueError("TelemetryStats.of needs at least one sample")
        util = sorted(s.utilization_pct for s in rows if s.utilization_pct is not None)
        mem = [s.memory_used_mib for s in rows if s.memory_used_mib is not None]
        total = [s.memory_total_mib for s in rows if s.memory_total_mib is not None]
        names = [s.name for s in rows if s.name]
        return cls(
            node=rows[0].node,
            gpu=rows[0].gpu,
            name=names[-1] if names else None,
            samples=len(rows),
            util_samples=len(util),
            util_mean=sum(util) / len(util) if util else None,
            util_p95=util[math.ceil(0.95 * len(util)) - 1] if util else None,
            util_max=util[-1] if util else None,
            mem_peak_mib=max(mem) if mem else None,
            mem_total_mib=max(total) if total else None,
            first_ts=rows[0].ts,
            last_ts=rows[-1].ts,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def gpu_stats(samples: Iterable[GpuSample]) -> list[TelemetryStats]:
    """One TelemetryStats per (node, GPU), in node then GPU order."""
    groups: dict[tuple[str, int], list[GpuSample]] = {}
    for s in samples:
        groups.setdefault((s.node, s.gpu), []).append(s)
    return [TelemetryStats.of(groups[key]) for key in sorted(groups)]


def summarize(
    samples: Iterable[GpuSample], *, state: str | None = None, detail: str = ""
) -> dict[str, Any]:
    """The "telemetry" section of orchestrator_summary.json:
    `{state, detail, samples, gpus: [TelemetryStats.as_dict() ...]}`. Without a `state`, it is
    'ok' when there are samples and 'no samples' otherwise."""
    stats = gpu_stats(samples)
    count = sum(s.samples for s in stats)
    return {
        "state": state or ("ok" if count else "no samples"),
        "detail": detail,
        "samples": count,
        "gpus": [s.as_dict() for s in stats],
    }
