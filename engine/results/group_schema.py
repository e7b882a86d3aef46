"""`group_summary.json`: a parallel group's figures over its shards, typed and versioned like
the run summary (`engine.results.schema`, whose docstring lays out both files). Its own module
because a group summary is built from run summaries, never the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.model import RunState
from engine.results.coerce import as_float, as_int, as_mapping, as_str, as_strs
from engine.results.schema import (
    GROUP_SUMMARY_FILE,
    GROUP_SUMMARY_SCHEMA_ID,
    SCHEMA_VERSION,
    Metric,
    RunSummary,
    checked_version,
    load_summary_json,
    run_state,
)


@dataclass(frozen=True)
class ShardRecord:
    """One shard of a group, copied from its run summary when the group ended."""

    node: str | None
    run_id: str | None
    run_dir: str | None
    state: RunState | None
    shard_start: int | None = None
    samples_requested: int | None = None
    samples_processed: int | None = None
    duration_s: float | None = None
    start_unix: float | None = None
    end_unix: float | None = None
    validity: str | None = None
    metric: Metric | None = None
    wall_throughput: float | None = None

    @classmethod
    def of(cls, run: RunSummary) -> ShardRecord:
        return cls(
            node=run.node,
            run_id=run.run_id,
            run_dir=run.run_dir,
            state=run.state,
            shard_start=run.shard_start,
            samples_requested=run.samples_requested,
            samples_processed=run.samples_processed,
            duration_s=run.wall.duration_s,
            start_unix=run.wall.start_unix,
            end_unix=run.wall.end_unix,
            validity=run.loadgen.validity,
            metric=run.loadgen.metric,
            wall_throughput=run.wall_throughput,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "run_id": self.run_id,
            "run_dir": self.run_dir,
            "shard_start": self.shard_start,
            "samples_requested": self.samples_requested,
            "samples_processed": self.samples_processed,
            "duration_s": self.duration_s,
            "start_unix": self.start_unix,
            "end_unix": self.end_unix,
            "state": self.state.value if self.state else None,
            "validity": self.validity,
            "metric": self.metric.to_json() if self.metric else None,
            "wall_throughput": self.wall_throughput,
        }

    @classmethod
    def from_json(cls, data: Any, version: int) -> ShardRecord:
        d = as_mapping(data)
        return cls(
            node=as_str(d.get("node")),
            run_id=as_str(d.get("run_id")),
            run_dir=as_str(d.get("run_dir")),
            state=run_state(d.get("state"), version),
            shard_start=as_int(d.get("shard_start")),
            samples_requested=as_int(d.get("samples_requested")),
            samples_processed=as_int(d.get("samples_processed")),
            duration_s=as_float(d.get("duration_s")),
            start_unix=as_float(d.get("start_unix")),
            end_unix=as_float(d.get("end_unix")),
            validity=as_str(d.get("validity")),
            metric=Metric.from_json(d.get("metric")),
            wall_throughput=as_float(d.get("wall_throughput")),
        )


@dataclass(frozen=True)
class GroupSummary:
    """group_summary.json: a parallel group's figures over its shards (each shard is also an
    ordinary run dir with its own RunSummary)."""

    group_id: str | None
    name: str | None
    group_dir: str | None
    label: str | None = None  # what its figures are (engine.results.summary.group_label)
    benchmark: str | None = None
    scenario: str | None = None
    mode: str | None = None
    dataset_size: int | None = None
    nodes: tuple[str, ...] = ()
    split: str | None = None
    split_source: str | None = None
    simulated: bool = False
    shards: tuple[ShardRecord, ...] = ()
    total_samples_requested: int | None = None
    samples_processed: int | None = None
    start_unix: float | None = None
    end_unix: float | None = None
    makespan_s: float | None = None
    combined_throughput: float | None = None
    sum_loadgen_metric: Metric | None = None  # name and key are None: a sum has neither
    sequential_s: float | None = None
    speedup: float | None = None
    single_run_throughputs: Mapping[str, float | None] = field(default_factory=dict)
    single_run_sources: Mapping[str, str | None] = field(default_factory=dict)
    scaling_efficiency: float | None = None
    mlconsole_version: str | None = None
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        m = self.sum_loadgen_metric
        return {
            "schema": GROUP_SUMMARY_SCHEMA_ID,
            "schema_version": SCHEMA_VERSION,
            "mlconsole_version": self.mlconsole_version,
            "group_id": self.group_id,
            "name": self.name,
            "group_dir": self.group_dir,
            "label": self.label,
            "benchmark": self.benchmark,
            "scenario": self.scenario,
            "mode": self.mode,
            "dataset_size": self.dataset_size,
            "nodes": list(self.nodes),
            "split": self.split,
            "split_source": self.split_source,
            "simulated": self.simulated,
            "shards": [s.to_json() for s in self.shards],
            "total_samples_requested": self.total_samples_requested,
            "samples_processed": self.samples_processed,
            "start_unix": self.start_unix,
            "end_unix": self.end_unix,
            "makespan_s": self.makespan_s,
            "combined_throughput": self.combined_throughput,
            "sum_loadgen_metric": None if m is None else {"value": m.value, "unit": m.unit},
            "sequential_s": self.sequential_s,
            "speedup": self.speedup,
            "single_run_throughputs": dict(self.single_run_throughputs),
            "single_run_sources": dict(self.single_run_sources),
            "scaling_efficiency": self.scaling_efficiency,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, source: str = "group summary") -> GroupSummary:
        version = checked_version(data, GROUP_SUMMARY_SCHEMA_ID, source)
        shards = data.get("shards") if isinstance(data.get("shards"), list) else []
        m = data.get("sum_loadgen_metric")
        return cls(
            group_id=as_str(data.get("group_id")),
            name=as_str(data.get("name")),
            group_dir=as_str(data.get("group_dir")),
            label=as_str(data.get("label")),
            benchmark=as_str(data.get("benchmark")),
            scenario=as_str(data.get("scenario")),
            mode=as_str(data.get("mode")),
            dataset_size=as_int(data.get("dataset_size")),
            nodes=as_strs(data.get("nodes")),
            split=as_str(data.get("split")),
            split_source=as_str(data.get("split_source")),
            simulated=bool(data.get("simulated")),
            shards=tuple(ShardRecord.from_json(s, version) for s in shards),
            total_samples_requested=as_int(data.get("total_samples_requested")),
            samples_processed=as_int(data.get("samples_processed")),
            start_unix=as_float(data.get("start_unix")),
            end_unix=as_float(data.get("end_unix")),
            makespan_s=as_float(data.get("makespan_s")),
            combined_throughput=as_float(data.get("combined_throughput")),
            sum_loadgen_metric=None
            if not isinstance(m, Mapping)
            else Metric(None, as_float(m.get("value")), as_str(m.get("unit"))),
            sequential_s=as_float(data.get("sequential_s")),
            speedup=as_float(data.get("speedup")),
            single_run_throughputs={
                str(k): as_float(v)
                for k, v in as_mapping(data.get("single_run_throughputs")).items()
            },
            single_run_sources={
                str(k): as_str(v) for k, v in as_mapping(data.get("single_run_sources")).items()
            },
            scaling_efficiency=as_float(data.get("scaling_efficiency")),
            mlconsole_version=as_str(data.get("mlconsole_version")),
            schema_version=version,
        )


def read_group_summary(path: Path) -> GroupSummary:
    """group_summary.json at `path` (a file, or a group dir holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / GROUP_SUMMARY_FILE
    return GroupSummary.from_json(load_summary_json(path, "group summary"), source=str(path))
