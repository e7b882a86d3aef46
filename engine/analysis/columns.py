"""Where each frame column comes from: the typed summaries of `engine.results.schema`, read
once. A `Column` is a name, a polars type and a reading of one source item (a run, a group,
a group's shard); `engine.analysis.frames` builds both the polars schema and the rows from the
same list, so a column's name is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Generic, TypeVar

import polars as pl

from engine import figures
from engine.results.group_schema import ShardRecord
from engine.results.store import TELEMETRY, RecordedGroup, RecordedRun

T = TypeVar("T")


@dataclass(frozen=True)
class Column(Generic[T]):
    """One column of a frame: its name, its polars type, and how a source item gives it."""

    name: str
    dtype: Any
    read: Callable[[T], Any]


def polars_schema(columns: Sequence[Column[Any]]) -> dict[str, Any]:
    return {c.name: c.dtype for c in columns}


def rows_of(columns: Sequence[Column[T]], items: Sequence[T]) -> list[dict[str, Any]]:
    return [{c.name: c.read(x) for c in columns} for x in items]


def frame_of(columns: Sequence[Column[Any]], rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """A frame of `rows` (dicts keyed by the columns' names), typed by the columns."""
    cols = {c.name: [r.get(c.name) for r in rows] for c in columns}
    return pl.DataFrame(cols, schema=polars_schema(columns))


# A run's family: one node's runs of one benchmark, scenario and mode. The aggregates group by
# it and lead with it (FAMILY_COLUMNS), so history, node and sweep frames name it alike.
FAMILY = ("node", "benchmark", "scenario", "mode")
FAMILY_COLUMNS = tuple((name, pl.Utf8) for name in FAMILY)


def aggregate(*spec: tuple[str, Any]) -> tuple[Column[Mapping[str, Any]], ...]:
    """Columns of a frame whose rows an aggregation builds as dicts: each reads its name."""
    return tuple(Column(name, dtype, itemgetter(name)) for name, dtype in spec)


# --- per run -----------------------------------------------------------------------------------


def _walk(x: Any, parts: Sequence[str]) -> Any:
    """`x`'s field at a dotted path (split in `parts`); None where a part on the way is None
    (`compliance.test` of a run that had no compliance test)."""
    for part in parts:
        if x is None:
            return None
        x = getattr(x, part)
    return x


def _at(path: str) -> Callable[[RecordedRun | RecordedGroup], Any]:
    """The run's or the group's summary field at a dotted path."""
    parts = path.split(".")
    return lambda rec: _walk(rec.summary, parts)


def _mismatch(rec: RecordedRun) -> bool | None:
    s = rec.summary
    if s.samples_requested is None or s.samples_processed is None:
        return None
    return s.samples_requested != s.samples_processed


def _over_gpus(pick: str, combine: Callable[[list[float]], float]) -> Callable[[RecordedRun], Any]:
    """Over all GPUs of the run; a GPU that lacks the figure makes the run's figure unknown
    rather than skewed."""

    def read(rec: RecordedRun) -> float | None:
        values = [getattr(g, pick) for g in rec.summary.telemetry.gpus]
        if not values or None in values:
            return None
        return combine(values)

    return read


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _gpu_names(rec: RecordedRun) -> str | None:
    return ", ".join(sorted({g.name for g in rec.summary.telemetry.gpus if g.name})) or None


RUN_COLUMNS: tuple[Column[RecordedRun], ...] = (
    Column("run_dir", pl.Utf8, lambda r: r.run_dir.name),
    Column("path", pl.Utf8, lambda r: str(r.run_dir)),
    Column("run_id", pl.Utf8, _at("run_id")),
    Column("kind", pl.Utf8, _at("kind")),
    Column("node", pl.Utf8, _at("node")),
    Column("group_id", pl.Utf8, _at("group_id")),
    Column("stage", pl.Utf8, _at("stage")),
    Column("label", pl.Utf8, _at("label")),
    Column("benchmark", pl.Utf8, _at("benchmark")),
    Column("scenario", pl.Utf8, _at("scenario")),
    Column("mode", pl.Utf8, _at("mode")),
    Column("dataset_size", pl.Int64, _at("dataset_size")),
    Column("simulated", pl.Boolean, _at("simulated")),
    Column("samples_requested", pl.Int64, _at("samples_requested")),
    Column("shard_start", pl.Int64, _at("shard_start")),
    Column("samples_processed", pl.Int64, _at("samples_processed")),
    Column("samples_mismatch", pl.Boolean, _mismatch),
    Column("start_unix", pl.Float64, _at("wall.start_unix")),
    Column("end_unix", pl.Float64, _at("wall.end_unix")),
    Column("duration_s", pl.Float64, _at("wall.duration_s")),
    Column("complete", pl.Boolean, _at("loadgen.complete")),
    Column("validity", pl.Utf8, _at("loadgen.validity")),
    Column(
        "validity_reasons", pl.List(pl.Utf8), lambda r: list(r.summary.loadgen.validity_reasons)
    ),
    Column("metric_name", pl.Utf8, _at("loadgen.metric.name")),
    Column("metric_value", pl.Float64, _at("loadgen.metric.value")),
    Column("metric_unit", pl.Utf8, _at("loadgen.metric.unit")),
    Column("metric_key", pl.Utf8, _at("loadgen.metric.key")),
    Column("token_metric_name", pl.Utf8, _at("loadgen.token_metric.name")),
    Column("token_metric_value", pl.Float64, _at("loadgen.token_metric.value")),
    Column("token_metric_unit", pl.Utf8, _at("loadgen.token_metric.unit")),
    Column("loadgen_problems", pl.List(pl.Utf8), lambda r: list(r.summary.loadgen.problems)),
    Column("wall_throughput", pl.Float64, _at("wall_throughput")),
    Column("state", pl.Utf8, _at("state.value")),
    Column("compliance_test", pl.Utf8, _at("compliance.test")),
    Column("ok", pl.Boolean, _at("ok")),
    Column("exit_code", pl.Int64, _at("exit.code")),
    Column("exit_detail", pl.Utf8, _at("exit.detail")),
    Column("telemetry_state", pl.Utf8, _at("telemetry.state")),
    Column("telemetry_detail", pl.Utf8, _at("telemetry.detail")),
    Column("telemetry_file", pl.Boolean, lambda r: TELEMETRY in r.summary.files),
    Column("gpu_names", pl.Utf8, _gpu_names),
    # Over all GPUs of the run: mean of per-GPU means, max of per-GPU maxima.
    Column("util_mean", pl.Float64, _over_gpus("util_mean", _mean)),
    Column("util_max", pl.Float64, _over_gpus("util_max", max)),
    Column("mem_peak_mib", pl.Float64, _over_gpus("mem_peak_mib", max)),
)


def run_row(rec: RecordedRun) -> dict[str, Any]:
    """One run as a `runs` frame row (a dict keyed by RUN_COLUMNS' names): the one reading of
    a run summary that the frames and the per-run report share."""
    return {c.name: c.read(rec) for c in RUN_COLUMNS}


# --- groups ------------------------------------------------------------------------------------


def _singles(g: RecordedGroup) -> list[float | None]:
    return [g.summary.single_run_throughputs.get(n) for n in g.summary.nodes]


GROUP_COLUMNS: tuple[Column[RecordedGroup], ...] = (
    Column("group_dir", pl.Utf8, lambda g: g.group_dir.name),
    Column("path", pl.Utf8, lambda g: str(g.group_dir)),
    *(
        Column(name, dtype, _at(name))
        for name, dtype in (
            ("group_id", pl.Utf8),
            ("name", pl.Utf8),
            ("benchmark", pl.Utf8),
            ("scenario", pl.Utf8),
            ("mode", pl.Utf8),
            ("dataset_size", pl.Int64),
        )
    ),
    Column("nodes", pl.List(pl.Utf8), lambda g: list(g.summary.nodes)),
    Column("split", pl.Utf8, _at("split")),
    Column("split_source", pl.Utf8, _at("split_source")),
    Column("simulated", pl.Boolean, _at("simulated")),
    Column("shards", pl.Int64, lambda g: len(g.summary.shards)),
    *(
        Column(name, dtype, _at(name))
        for name, dtype in (
            ("total_samples_requested", pl.Int64),
            ("samples_processed", pl.Int64),
            ("start_unix", pl.Float64),
            ("end_unix", pl.Float64),
            ("makespan_s", pl.Float64),
            ("combined_throughput", pl.Float64),
        )
    ),
    Column("sum_loadgen_metric", pl.Float64, _at("sum_loadgen_metric.value")),
    Column("sum_loadgen_unit", pl.Utf8, _at("sum_loadgen_metric.unit")),
    Column("sequential_s", pl.Float64, _at("sequential_s")),
    Column("speedup", pl.Float64, _at("speedup")),
    # The ideal: the same nodes side by side at their single-run wall throughputs.
    Column(
        "ideal_throughput",
        pl.Float64,
        lambda g: figures.sum_metric(_singles(g)) if g.summary.nodes else None,
    ),
    Column(
        "single_run_sources",
        pl.List(pl.Utf8),
        lambda g: [g.summary.single_run_sources.get(n) or "" for n in g.summary.nodes],
    ),
    Column("scaling_efficiency", pl.Float64, _at("scaling_efficiency")),
    Column(
        "projection_h_combined",
        pl.Float64,
        lambda g: figures.projection_hours(g.summary.dataset_size, g.summary.combined_throughput),
    ),
)

_Shard = tuple[RecordedGroup, ShardRecord]


def _shard_at(path: str) -> Callable[[_Shard], Any]:
    parts = path.split(".")
    return lambda gs: _walk(gs[1], parts)


def _single_of(pick: str) -> Callable[[_Shard], Any]:
    def read(gs: _Shard) -> Any:
        g, shard = gs
        table = getattr(g.summary, pick)
        return table.get(shard.node) if shard.node else None

    return read


SHARD_COLUMNS: tuple[Column[_Shard], ...] = (
    Column("group_dir", pl.Utf8, lambda gs: gs[0].group_dir.name),
    Column("group_id", pl.Utf8, lambda gs: gs[0].summary.group_id),
    *(
        Column(name, dtype, _shard_at(name))
        for name, dtype in (
            ("node", pl.Utf8),
            ("run_id", pl.Utf8),
            ("run_dir", pl.Utf8),
            ("shard_start", pl.Int64),
            ("samples_requested", pl.Int64),
            ("samples_processed", pl.Int64),
            ("duration_s", pl.Float64),
            ("start_unix", pl.Float64),
            ("end_unix", pl.Float64),
        )
    ),
    Column("state", pl.Utf8, _shard_at("state.value")),
    Column("validity", pl.Utf8, _shard_at("validity")),
    Column("metric_value", pl.Float64, _shard_at("metric.value")),
    Column("metric_unit", pl.Utf8, _shard_at("metric.unit")),
    Column("wall_throughput", pl.Float64, _shard_at("wall_throughput")),
    Column("single_run_throughput", pl.Float64, _single_of("single_run_throughputs")),
    Column("single_run_source", pl.Utf8, _single_of("single_run_sources")),
)
