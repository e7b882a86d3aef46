"""One figure, one function. Every throughput, speedup, efficiency and projection that mlconsole
shows or writes is computed here, from recorded values; a figure whose inputs are missing or
meaningless is None (shown as missing), never a guess.

`engine.analysis.frames` builds polars frames on top of these; the orchestrator, reports, charts,
batch lines and the TUI all call them rather than re-deriving a number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


def _positive(x: float | None) -> bool:
    return x is not None and x == x and x > 0  # x == x rejects NaN


def wall_throughput(samples_processed: int | None, duration_s: float | None) -> float | None:
    """Samples LoadGen processed per second of wall time, launch to exit, model load included.

    Useful for planning; never the MLPerf number (that is LoadGen's own metric)."""
    if samples_processed is None or samples_processed < 0 or not _positive(duration_s):
        return None
    return samples_processed / duration_s  # type: ignore[operator]


def projection_hours(dataset_size: int | None, throughput_per_s: float | None) -> float | None:
    """Hours to process the full dataset at `throughput_per_s` samples/s."""
    if not dataset_size or not _positive(throughput_per_s):
        return None
    return dataset_size / throughput_per_s / 3600.0  # type: ignore[operator]


def relative(value: float | None, baseline: float | None) -> float | None:
    """value / baseline (e.g. 2.1 for a node 2.1x faster than the baseline node)."""
    if not _positive(value) or not _positive(baseline):
        return None
    return value / baseline  # type: ignore[operator]


def difference(value: float | None, baseline: float | None) -> float | None:
    """value - baseline, in their (shared) unit; None when either is missing."""
    if value is None or baseline is None:
        return None
    return value - baseline


def makespan(starts: Sequence[float | None], ends: Sequence[float | None]) -> float | None:
    """First start to last end, in seconds; None if any shard lacks a time."""
    if not starts or not ends or any(t is None for t in (*starts, *ends)):
        return None
    span = max(ends) - min(starts)  # type: ignore[type-var,operator]
    return span if span > 0 else None


def combined_throughput(samples_processed: int | None, makespan_s: float | None) -> float | None:
    """A parallel group's processed samples over its makespan."""
    return wall_throughput(samples_processed, makespan_s)


def sequential_speedup(
    durations_s: Sequence[float | None], makespan_s: float | None
) -> float | None:
    """How much faster the group ran than the same shards one after another:
    sum of shard durations / makespan."""
    if not durations_s or any(not _positive(d) for d in durations_s) or not _positive(makespan_s):
        return None
    return sum(durations_s) / makespan_s  # type: ignore[arg-type,operator]


def scaling_efficiency(combined: float | None, singles: Iterable[float | None]) -> float | None:
    """Combined group throughput / sum of the same nodes' single-run throughputs.

    1.0 means the group is as fast as its nodes side by side; None when any node's single-run
    throughput is unknown."""
    singles = list(singles)
    if not singles or any(not _positive(s) for s in singles) or not _positive(combined):
        return None
    return combined / sum(singles)  # type: ignore[arg-type,operator]


def sum_metric(values: Iterable[float | None]) -> float | None:
    """Sum of the nodes' LoadGen metrics (only meaningful for throughput metrics)."""
    values = list(values)
    if not values or any(v is None for v in values):
        return None
    return float(sum(values))  # type: ignore[arg-type]


def eta_seconds(completed: int, total: int | None, rate_per_s: float | None) -> float | None:
    """Time left at the current rate."""
    if total is None or not _positive(rate_per_s) or completed > total:
        return None
    return (total - completed) / rate_per_s  # type: ignore[operator]


def planned_duration_s(
    samples: int | None, rate_per_s: float | None, scheduled_s: float | None = None
) -> float | None:
    """How long a run of `samples` will take at a measured rate, before it starts. A Server
    run lasts at least LoadGen's arrival schedule (`scheduled_s`), whatever the node's speed."""
    at_rate = samples / rate_per_s if samples and _positive(rate_per_s) else None  # type: ignore[operator]
    if scheduled_s is not None and _positive(scheduled_s):
        return max(at_rate or 0.0, scheduled_s)
    return at_rate


def trace_bytes(samples: int | None, duration_s: float | None) -> float | None:
    """LoadGen's trace size for a run: a fixed cost per sample plus the IO thread's own events
    (about every 10 ms, whatever the load). Constants in engine/loadgen/trace_size.py."""
    from engine.loadgen.trace_size import TRACE_BYTES_PER_S, TRACE_BYTES_PER_SAMPLE

    if samples is None:
        return None
    return samples * TRACE_BYTES_PER_SAMPLE + (duration_s or 0.0) * TRACE_BYTES_PER_S


def shard_sizes(total: int, weights: Mapping[str, float | None]) -> dict[str, int]:
    """Split `total` samples over nodes in proportion to `weights` (e.g. measured throughput),
    so that the nodes finish together. Equal split when any weight is missing. The sizes add
    up to `total` exactly (largest remainders) and every node gets at least one sample when
    total allows."""
    nodes = list(weights)
    if not nodes:
        return {}
    w = [weights[n] for n in nodes]
    if any(not _positive(x) for x in w):
        w = [1.0] * len(nodes)
    s = sum(w)  # type: ignore[arg-type]
    exact = [total * x / s for x in w]  # type: ignore[operator]
    sizes = [int(e) for e in exact]
    order = sorted(range(len(nodes)), key=lambda i: exact[i] - sizes[i], reverse=True)
    for i in order[: total - sum(sizes)]:
        sizes[i] += 1
    if total >= len(nodes):
        for i in range(len(sizes)):
            if sizes[i] == 0:
                j = max(range(len(sizes)), key=lambda k: sizes[k])
                sizes[j] -= 1
                sizes[i] += 1
    return dict(zip(nodes, sizes, strict=True))


def shard_starts(sizes: Mapping[str, int], start: int = 0) -> dict[str, int]:
    """Consecutive sample ranges for shards in the order given."""
    out, pos = {}, start
    for node, n in sizes.items():
        out[node] = pos
        pos += n
    return out


def tokens_per_user(tpot_p90_s: float | None) -> float | None:
    """MLPerf Endpoints' interactivity: tokens/s one user sees = 1 / TPOT p90 (in seconds)."""
    if not _positive(tpot_p90_s):
        return None
    return 1.0 / tpot_p90_s  # type: ignore[operator]


def share(part: float | None, whole: float | None) -> float | None:
    """part / whole (a node's share of a fleet run's queries or tokens)."""
    if part is None or not _positive(whole):
        return None
    return part / whole  # type: ignore[operator]
