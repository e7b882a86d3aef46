"""Builds the JSON summaries the orchestrator writes (schemas in `engine.results.store`).

Every number here is read from LoadGen's logs, the node's wrapper files or the controller's
records, or computed by `engine.figures` from them; what cannot be known is null.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from engine import __version__, figures
from engine.model import Benchmark, NodeFacts, RunSpec, RunState
from engine.results.store import GROUP_SCHEMA, RUN_SCHEMA, SCHEMA_VERSION


def iso(t: float | None) -> str | None:
    if t is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def metric_dict(metric: Any) -> dict[str, Any] | None:
    if metric is None:
        return None
    return {
        "name": metric.name,
        "value": metric.value,
        "unit": metric.unit,
        "key": getattr(metric, "key", None),
    }


def _count(x: Any) -> int:
    if x is None:
        return 0
    if isinstance(x, int):
        return x
    try:
        return len(x)
    except TypeError:
        return 0


def loadgen_section(logs: Any | None) -> dict[str, Any]:
    """The `loadgen` block, from `engine.loadgen.parse.RunLogs` (None: no logs came back)."""
    if logs is None:
        return {
            "complete": False,
            "validity": None,
            "validity_reasons": [],
            "metric": None,
            "token_metric": None,
            "generated_total": None,
            "errors": None,
            "warnings": None,
            "problems": ["no LoadGen logs were collected"],
        }
    return {
        "complete": bool(logs.complete),
        "validity": logs.validity,
        "validity_reasons": list(logs.validity_reasons),
        "metric": metric_dict(logs.headline),
        "token_metric": metric_dict(logs.token_metric),
        "generated_total": logs.generated_total,
        "errors": _count(logs.loadgen_errors),
        "warnings": _count(logs.loadgen_warnings),
        "incomplete_reasons": list(logs.incomplete_reasons),
        "problems": [str(p) for p in logs.problems],
    }


def host_section(facts: NodeFacts | None) -> dict[str, Any]:
    if facts is None:
        return {
            "os": None,
            "python": None,
            "loadgen_version": None,
            "gpu_state": "unknown",
            "gpus": [],
        }
    return {
        "os": facts.os,
        "python": facts.python,
        "loadgen_version": facts.loadgen_version,
        "gpu_state": facts.gpu_state,
        "driver": facts.driver,
        "gpus": [
            {
                "index": g.index,
                "name": g.name,
                "memory_total_mib": g.memory_total_mib,
                "uuid": g.uuid,
            }
            for g in facts.gpus
        ],
    }


def build_run_summary(
    *,
    spec: RunSpec,
    benchmark: Benchmark,
    run_dir_name: str,
    simulated: bool,
    state: RunState,
    exit_code: int | None,
    detail: str,
    start_unix: float | None,
    end_unix: float | None,
    logs: Any | None,
    facts: NodeFacts | None,
    telemetry: Mapping[str, Any] | None,
    files: Sequence[str],
) -> dict[str, Any]:
    duration = (end_unix - start_unix) if start_unix is not None and end_unix is not None else None
    processed = logs.samples_processed if logs is not None else None
    wall = figures.wall_throughput(processed, duration)
    return {
        "schema": RUN_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "mlconsole_version": __version__,
        "run_id": spec.run_id,
        "run_dir": run_dir_name,
        "kind": "run",
        "node": spec.node,
        "group_id": spec.group_id,
        "stage": spec.stage,
        "label": spec.label,
        "benchmark": spec.benchmark,
        "scenario": str(spec.scenario),
        "mode": str(spec.mode),
        "dataset_size": benchmark.dataset_size,
        "simulated": simulated,
        "samples_requested": spec.samples,
        "shard_start": spec.shard_start,
        "samples_processed": processed,
        "wall": {
            "start": iso(start_unix),
            "end": iso(end_unix),
            "start_unix": start_unix,
            "end_unix": end_unix,
            "duration_s": duration,
        },
        "loadgen": loadgen_section(logs),
        "wall_throughput": None if wall is None else {"value": wall, "unit": "samples/s"},
        "exit": {"state": str(state), "code": exit_code, "detail": detail},
        "host": host_section(facts),
        "telemetry": dict(telemetry) if telemetry else {"state": "not recorded", "gpus": []},
        "files": sorted(files),
    }


def _metric_value(summary: Mapping[str, Any]) -> tuple[float | None, str | None]:
    m = (summary.get("loadgen") or {}).get("metric")
    if not m:
        return None, None
    return m.get("value"), m.get("unit")


def _wall_value(summary: Mapping[str, Any]) -> float | None:
    w = summary.get("wall_throughput")
    return w.get("value") if w else None


def build_group_summary(
    *,
    group_id: str,
    name: str,
    group_dir_name: str,
    benchmark: Benchmark,
    scenario: str,
    mode: str,
    nodes: Sequence[str],
    split: str,
    split_source: str,
    simulated: bool,
    total_samples: int,
    shards: Sequence[Mapping[str, Any]],
    singles: Mapping[str, tuple[float | None, str | None]],
) -> dict[str, Any]:
    """`shards` are the shards' run summaries; `singles` maps node -> (single-run wall
    throughput, run dir it came from)."""
    rows = []
    for s in shards:
        wall = s.get("wall") or {}
        value, unit = _metric_value(s)
        rows.append(
            {
                "node": s.get("node"),
                "run_id": s.get("run_id"),
                "run_dir": s.get("run_dir"),
                "shard_start": s.get("shard_start"),
                "samples_requested": s.get("samples_requested"),
                "samples_processed": s.get("samples_processed"),
                "duration_s": wall.get("duration_s"),
                "start_unix": wall.get("start_unix"),
                "end_unix": wall.get("end_unix"),
                "state": (s.get("exit") or {}).get("state"),
                "validity": (s.get("loadgen") or {}).get("validity"),
                "metric": (s.get("loadgen") or {}).get("metric"),
                "wall_throughput": _wall_value(s),
            }
        )
    starts = [r["start_unix"] for r in rows]
    ends = [r["end_unix"] for r in rows]
    span = figures.makespan(starts, ends)
    processed_list = [r["samples_processed"] for r in rows]
    processed = None if any(p is None for p in processed_list) else sum(processed_list)
    combined = figures.combined_throughput(processed, span)
    units = {(r["metric"] or {}).get("unit") for r in rows}
    metric_sum = None
    if len(units) == 1 and next(iter(units)) in ("samples/s", "tokens/s"):
        total = figures.sum_metric([(r["metric"] or {}).get("value") for r in rows])
        if total is not None:
            metric_sum = {"value": total, "unit": next(iter(units))}
    durations = [r["duration_s"] for r in rows]
    sequential = None if any(d is None for d in durations) else sum(durations)
    single_values = {n: singles.get(n, (None, None))[0] for n in nodes}
    return {
        "schema": GROUP_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "mlconsole_version": __version__,
        "group_id": group_id,
        "name": name,
        "group_dir": group_dir_name,
        "label": group_label(len(nodes)),
        "benchmark": benchmark.name,
        "scenario": scenario,
        "mode": mode,
        "dataset_size": benchmark.dataset_size,
        "nodes": list(nodes),
        "split": split,
        "split_source": split_source,
        "simulated": simulated,
        "shards": rows,
        "total_samples_requested": total_samples,
        "samples_processed": processed,
        "start_unix": min(starts) if span is not None else None,
        "end_unix": max(ends) if span is not None else None,
        "makespan_s": span,
        "combined_throughput": combined,
        "sum_loadgen_metric": metric_sum,
        "sequential_s": sequential,
        "speedup": figures.sequential_speedup(durations, span),
        "single_run_throughputs": single_values,
        "single_run_sources": {n: singles.get(n, (None, None))[1] for n in nodes},
        "scaling_efficiency": figures.scaling_efficiency(combined, single_values.values()),
    }


# What each distributed figure is, in reports, batch lines and the console alike.
FLEET_LABEL = "one LoadGen result"


def group_label(n: int | None = None) -> str:
    """A parallel group's label: MLPerf accepts the result of a single LoadGen instance."""
    return f"{n or 'N'} separate LoadGen runs: a planning figure, not an MLPerf result"


def build_fleet_block(
    *,
    spec: Any,
    limit: int | None,
    excluded: Sequence[Mapping[str, Any]],
    outcome: Any | None,
    endpoints_file: str,
) -> dict[str, Any]:
    """The `fleet` block of a fleet run's summary: which endpoints served it, each one's
    share and latencies (measured by the controller's client), retries and errors.

    `spec` is the stage's FleetSpec, `outcome` the run's FleetOutcome (None: it never ran).
    """
    client = outcome.client if outcome is not None else {}
    tpot = (client.get("tpot_s") or {}).get("p90")
    ttft = (client.get("ttft_s") or {}).get("p90")
    return {
        "label": FLEET_LABEL,
        "fleet_id": spec.fleet_id,
        "stage": spec.name,
        "nodes": list(spec.nodes),
        "service": spec.service,
        "sweep": spec.sweep,
        "concurrency": limit,
        "target_qps": spec.target_qps,
        "max_retries": spec.max_retries,
        "sut_name": outcome.sut_name if outcome else None,
        "issued": outcome.issued if outcome else 0,
        "completed": outcome.completed if outcome else 0,
        "failed": outcome.failed if outcome else 0,
        "retries": outcome.retries if outcome else 0,
        "output_tokens": outcome.output_tokens if outcome else 0,
        "prompt_tokens": outcome.prompt_tokens if outcome else None,
        "failed_reason": outcome.failed_reason if outcome else None,
        "failures": list(outcome.failures) if outcome else [],
        "excluded": [dict(e) for e in excluded],
        "client": dict(client),
        "interactivity": {
            "tpot_p90_s": tpot,
            "ttft_p90_s": ttft,
            "tokens_per_user": figures.tokens_per_user(tpot),
        },
        "endpoints": list(outcome.endpoints) if outcome else [],
        "endpoints_file": endpoints_file,
    }
