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
from engine.results.coerce import as_float, as_mapping, as_str
from engine.results.record import copied, record_from_json, record_to_json
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
    """One shard of a group, copied from its run summary when the group ended (fields in the
    file's order)."""

    node: str | None
    run_id: str | None
    run_dir: str | None
    shard_start: int | None = None
    samples_requested: int | None = None
    samples_processed: int | None = None
    duration_s: float | None = None
    start_unix: float | None = None
    end_unix: float | None = None
    state: RunState | None = None
    validity: str | None = None
    metric: Metric | None = None
    wall_throughput: float | None = None

    @classmethod
    def of(cls, run: RunSummary) -> ShardRecord:
        """The run summary's fields of the same names, its wall clock's and LoadGen's."""
        wall, loadgen = run.wall, run.loadgen
        return copied(
            cls, run, duration_s=wall.duration_s, start_unix=wall.start_unix,
            end_unix=wall.end_unix, validity=loadgen.validity, metric=loadgen.metric,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return record_to_json(self)

    @classmethod
    def from_json(cls, data: Any, version: int) -> ShardRecord:
        d = as_mapping(data)
        return record_from_json(
            cls,
            d,
            state=run_state(d.get("state"), version),
            metric=Metric.from_json(d.get("metric")),
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
        body = record_to_json(self, skip=("mlconsole_version", "schema_version"))
        body["sum_loadgen_metric"] = None if m is None else {"value": m.value, "unit": m.unit}
        return {
            "schema": GROUP_SUMMARY_SCHEMA_ID,
            "schema_version": SCHEMA_VERSION,
            "mlconsole_version": self.mlconsole_version,
            **body,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, source: str = "group summary") -> GroupSummary:
        version = checked_version(data, GROUP_SUMMARY_SCHEMA_ID, source)
        shards = data.get("shards") if isinstance(data.get("shards"), list) else []
        m = data.get("sum_loadgen_metric")
        return record_from_json(
            cls,
            data,
            shards=tuple(ShardRecord.from_json(s, version) for s in shards),
            sum_loadgen_metric=None
            if not isinstance(m, Mapping)
            else Metric(None, as_float(m.get("value")), as_str(m.get("unit"))),
            single_run_throughputs={
                str(k): as_float(v)
                for k, v in as_mapping(data.get("single_run_throughputs")).items()
            },
            single_run_sources={
                str(k): as_str(v) for k, v in as_mapping(data.get("single_run_sources")).items()
            },
            schema_version=version,
        )


def read_group_summary(path: Path) -> GroupSummary:
    """group_summary.json at `path` (a file, or a group dir holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / GROUP_SUMMARY_FILE
    return GroupSummary.from_json(load_summary_json(path, "group summary"), source=str(path))
