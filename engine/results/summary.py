"""Builds the typed summaries the orchestrator writes (`engine.results.schema`): a run's from
its LoadGen logs, wrapper files and probe facts; a group's from its shards' run summaries.

Every number here is read from LoadGen's logs, the node's wrapper files or the controller's
records, or computed by `engine.figures` from them; what cannot be known is None.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from engine import __version__, figures
from engine.model import Benchmark, NodeFacts, RunSpec, RunState
from engine.results.group_schema import GroupSummary, ShardRecord
from engine.results.node_records import HostGpu, HostRecord, TelemetryRecord
from engine.results.record import copied
from engine.results.schema import ExitRecord, LoadgenRecord, Metric, RunSummary, WallClock
from engine.submission.eligibility import assess_logs
from engine.submission.headline import checker_headline


def iso(t: float | None) -> str | None:
    if t is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def metric_record(metric: Any) -> Metric | None:
    """A parsed LoadGen metric (`engine.loadgen.summary`) as recorded."""
    if metric is None:
        return None
    return Metric(metric.name, metric.value, metric.unit, getattr(metric, "key", None))


def _count(x: Any) -> int:
    if x is None:
        return 0
    if isinstance(x, int):
        return x
    try:
        return len(x)
    except TypeError:
        return 0


NO_LOGS = LoadgenRecord(complete=False, problems=("no LoadGen logs were collected",))


def loadgen_record(logs: Any | None) -> LoadgenRecord:
    """What `engine.loadgen.parse.RunLogs` found (None: no logs came back)."""
    if logs is None:
        return NO_LOGS
    return LoadgenRecord(
        complete=bool(logs.complete),
        validity=logs.validity,
        validity_reasons=tuple(logs.validity_reasons),
        metric=metric_record(logs.headline),
        token_metric=metric_record(logs.token_metric),
        generated_total=logs.generated_total,
        errors=_count(logs.loadgen_errors),
        warnings=_count(logs.loadgen_warnings),
        incomplete_reasons=tuple(logs.incomplete_reasons),
        problems=tuple(str(p) for p in logs.problems),
    )


def host_record(facts: NodeFacts | None) -> HostRecord:
    if facts is None:
        return HostRecord()
    # The record's fields are the facts' own names.
    return copied(HostRecord, facts, gpus=tuple(copied(HostGpu, g) for g in facts.gpus))


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
    submission_round: str | None = None,
) -> RunSummary:
    """`telemetry` is the section `RunTelemetry.stop()` returns (None: not recorded).
    `submission_round` is the round the run is judged against (None: the default round)."""
    duration = (end_unix - start_unix) if start_unix is not None and end_unix is not None else None
    processed = logs.samples_processed if logs is not None else None
    return RunSummary(
        run_id=spec.run_id,
        run_dir=run_dir_name,
        node=spec.node,
        benchmark=spec.benchmark,
        scenario=str(spec.scenario),
        mode=str(spec.mode),
        exit=ExitRecord(state, exit_code, detail),
        samples_requested=spec.samples,
        shard_start=spec.shard_start,
        group_id=spec.group_id,
        stage=spec.stage,
        label=spec.label,
        dataset_size=benchmark.dataset_size,
        simulated=simulated,
        samples_processed=processed,
        wall=WallClock(iso(start_unix), iso(end_unix), start_unix, end_unix, duration),
        loadgen=loadgen_record(logs),
        wall_throughput=figures.wall_throughput(processed, duration),
        host=host_record(facts),
        telemetry=TelemetryRecord.from_json(telemetry) if telemetry else TelemetryRecord(),
        files=tuple(sorted(set(files))),
        mlconsole_version=__version__,
        eligibility=assess_logs(logs, submission_round, benchmark.model) if logs else None,
        checker_headline=checker_headline(
            logs.detail.values, logs.scenario, benchmark.model, submission_round
        )
        if logs is not None and logs.detail is not None
        else None,
    )


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
    shards: Sequence[RunSummary],
    singles: Mapping[str, tuple[float | None, str | None]],
) -> GroupSummary:
    """`shards` are the shards' run summaries; `singles` maps node -> (single-run wall
    throughput, run dir it came from)."""
    rows = [ShardRecord.of(s) for s in shards]
    starts = [r.start_unix for r in rows]
    ends = [r.end_unix for r in rows]
    span = figures.makespan(starts, ends)
    processed_list = [r.samples_processed for r in rows]
    processed = None if any(p is None for p in processed_list) else sum(processed_list)  # type: ignore[misc]
    combined = figures.combined_throughput(processed, span)
    units = {r.metric.unit if r.metric else None for r in rows}
    metric_sum = None
    if len(units) == 1 and next(iter(units)) in ("samples/s", "tokens/s"):
        total = figures.sum_metric([r.metric.value if r.metric else None for r in rows])
        if total is not None:
            metric_sum = Metric(None, total, next(iter(units)))
    durations = [r.duration_s for r in rows]
    sequential = None if any(d is None for d in durations) else sum(durations)  # type: ignore[misc]
    single_values = {n: singles.get(n, (None, None))[0] for n in nodes}
    return GroupSummary(
        group_id=group_id,
        name=name,
        group_dir=group_dir_name,
        label=group_label(len(nodes)),
        benchmark=benchmark.name,
        scenario=scenario,
        mode=mode,
        dataset_size=benchmark.dataset_size,
        nodes=tuple(nodes),
        split=split,
        split_source=split_source,
        simulated=simulated,
        shards=tuple(rows),
        total_samples_requested=total_samples,
        samples_processed=processed,
        start_unix=min(starts) if span is not None else None,  # type: ignore[type-var]
        end_unix=max(ends) if span is not None else None,  # type: ignore[type-var]
        makespan_s=span,
        combined_throughput=combined,
        sum_loadgen_metric=metric_sum,
        sequential_s=sequential,
        speedup=figures.sequential_speedup(durations, span),
        single_run_throughputs=single_values,
        single_run_sources={n: singles.get(n, (None, None))[1] for n in nodes},
        scaling_efficiency=figures.scaling_efficiency(combined, single_values.values()),
        mlconsole_version=__version__,
    )


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
