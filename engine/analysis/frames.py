"""Polars frames over recorded results: one row per run, per node, per group, per sweep point.

Everything is read from the typed summaries of `engine.results.schema` (any version it reads,
so results recorded by 0.1.0 still report); every derived figure is computed by
`engine.figures`. Where a summary lacks a figure the cell is null: nothing is made up, and the
reports show it as missing with the reason.

Each frame's columns are declared once, as `Column`s (name, polars type, and where in the
summary the value comes from); the polars schema and the rows are both built from that list.
The per-node and per-sweep frames are aggregates of the runs frame's rows, so their columns
read the aggregate's row.

The one thing read from elsewhere is the *name* of the baseline node when the caller does not
give one: `[settings] baseline_node` in the newest run's `config.snapshot.toml` (no figure comes
from there).

Speed matters (`mlconsole report` over 1,000 runs in well under 3 s on two cores): columns are
built as plain lists and turned into one DataFrame each; no per-row polars calls.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, Generic, TypeVar

import polars as pl

from engine import figures
from engine.analysis.fleet_frames import FLEET_KIND, fleet_frames
from engine.model import RunState
from engine.results.schema import ShardRecord
from engine.results.store import SNAPSHOT, TELEMETRY, RecordedGroup, RecordedRun, ResultsStore

# LoadGen metrics that are rates, so a larger value is better and a mean/sum/projection makes
# sense; latency metrics ("ns") are none of these.
RATE_UNITS = frozenset({"samples/s", "tokens/s", "queries/s"})

BASELINE_FROM_SETTINGS = "settings.baseline_node"
BASELINE_SLOWEST = "slowest node by wall throughput"

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


def aggregate(*spec: tuple[str, Any]) -> tuple[Column[Mapping[str, Any]], ...]:
    """Columns of a frame whose rows an aggregation builds as dicts: each reads its name."""
    return tuple(Column(name, dtype, itemgetter(name)) for name, dtype in spec)


@dataclass(frozen=True)
class Results:
    """Recorded results as frames, plus the typed summaries the reports quote from.

    `runs`: one row per run. `nodes`: per node, benchmark, scenario and mode, over the node's
    completed single runs (group shards excluded). `groups`: one row per parallel group.
    `shards`: one row per group shard. `sweeps`: per node and samples requested (single runs).
    `fleets`: one row per fleet run; `fleet_endpoints`: one row per endpoint of each
    (`engine.analysis.fleet_frames`).
    """

    results_dir: Path
    runs: pl.DataFrame
    nodes: pl.DataFrame
    groups: pl.DataFrame
    shards: pl.DataFrame
    sweeps: pl.DataFrame
    run_records: tuple[RecordedRun, ...]
    group_records: tuple[RecordedGroup, ...]
    baseline_setting: str | None  # the configured baseline node, if any
    baseline_setting_source: str | None  # where the setting was read (caller or snapshot path)
    fleets: pl.DataFrame | None = None
    fleet_endpoints: pl.DataFrame | None = None

    @property
    def simulated(self) -> bool:
        """True when any recorded run or group says its node speeds were simulated."""
        return any(r.summary.simulated for r in self.run_records) or any(
            g.summary.simulated for g in self.group_records
        )


# --- per run -----------------------------------------------------------------------------------


def _at(path: str) -> Callable[[RecordedRun], Any]:
    """The run summary's field at a dotted path; None where a part on the way is None."""
    parts = path.split(".")

    def read(rec: RecordedRun) -> Any:
        x: Any = rec.summary
        for part in parts:
            if x is None:
                return None
            x = getattr(x, part)
        return x

    return read


def _state(state: RunState | None) -> str | None:
    return None if state is None else state.value


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
    Column("state", pl.Utf8, lambda r: _state(r.summary.state)),
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


# --- per node ----------------------------------------------------------------------------------

NODE_COLUMNS = aggregate(
    ("node", pl.Utf8),
    ("benchmark", pl.Utf8),
    ("scenario", pl.Utf8),
    ("mode", pl.Utf8),
    ("simulated", pl.Boolean),
    ("runs", pl.Int64),
    ("run_dirs", pl.List(pl.Utf8)),
    ("invalid_runs", pl.List(pl.Utf8)),
    ("metric_name", pl.Utf8),
    ("metric_unit", pl.Utf8),
    ("metric_runs", pl.Int64),
    ("best_metric", pl.Float64),
    ("mean_metric", pl.Float64),
    ("wall_runs", pl.List(pl.Utf8)),
    ("samples_processed_sum", pl.Int64),
    ("duration_s_sum", pl.Float64),
    ("wall_throughput", pl.Float64),
    ("baseline_node", pl.Utf8),
    ("baseline_source", pl.Utf8),
    ("relative_wall", pl.Float64),
    ("relative_loadgen", pl.Float64),
    ("dataset_size", pl.Int64),
    ("projection_h_wall", pl.Float64),
    ("projection_h_loadgen", pl.Float64),
)
_Key = tuple[str | None, str | None, str | None, str | None]


def _node_rows(
    rows: Sequence[Mapping[str, Any]], baseline_setting: str | None
) -> list[dict[str, Any]]:
    """Completed single runs (not group shards), aggregated per node/benchmark/scenario/mode."""
    buckets: dict[_Key, list[Mapping[str, Any]]] = {}
    for r in rows:
        if r["ok"] and r["group_id"] is None and r["kind"] != FLEET_KIND:
            key = (r["node"], r["benchmark"], r["scenario"], r["mode"])
            buckets.setdefault(key, []).append(r)
    out = []
    for (node, bench, scen, mode), rs in sorted(buckets.items(), key=lambda kv: str(kv[0])):
        units = {r["metric_unit"] for r in rs if r["metric_value"] is not None}
        names = {r["metric_name"] for r in rs if r["metric_value"] is not None}
        # Mixed units (e.g. a harness that changed) cannot be averaged: leave the metric missing.
        unit = next(iter(units)) if len(units) == 1 else None
        values = [r["metric_value"] for r in rs if r["metric_value"] is not None] if unit else []
        best = None
        if values:
            best = max(values) if unit in RATE_UNITS else min(values)
        # Wall throughput over the runs that have both figures: summed samples / summed time.
        walls = [r for r in rs if r["samples_processed"] is not None and r["duration_s"]]
        processed = sum(r["samples_processed"] for r in walls) if walls else None
        duration = sum(r["duration_s"] for r in walls) if walls else None
        sizes = {r["dataset_size"] for r in rs if r["dataset_size"]}
        out.append(
            {
                "node": node,
                "benchmark": bench,
                "scenario": scen,
                "mode": mode,
                "simulated": any(r["simulated"] for r in rs),
                "runs": len(rs),
                "run_dirs": [r["run_dir"] for r in rs],
                "invalid_runs": [r["run_dir"] for r in rs if r["validity"] == "INVALID"],
                "metric_name": next(iter(names)) if len(names) == 1 else None,
                "metric_unit": unit,
                "metric_runs": len(values),
                "best_metric": best,
                "mean_metric": sum(values) / len(values) if values else None,
                "wall_runs": [r["run_dir"] for r in walls],
                "samples_processed_sum": processed,
                "duration_s_sum": duration,
                "wall_throughput": figures.wall_throughput(processed, duration),
                "dataset_size": next(iter(sizes)) if len(sizes) == 1 else None,
            }
        )
    _add_relative(out, baseline_setting)
    for r in out:
        r["projection_h_wall"] = figures.projection_hours(r["dataset_size"], r["wall_throughput"])
        # LoadGen's metric projects a sample count only when it counts samples.
        r["projection_h_loadgen"] = (
            figures.projection_hours(r["dataset_size"], r["mean_metric"])
            if r["metric_unit"] == "samples/s"
            else None
        )
    return out


def _add_relative(rows: list[dict[str, Any]], baseline_setting: str | None) -> None:
    """Relative performance within each benchmark/scenario/mode against one baseline node: the
    configured one when it has a measured wall throughput there, else the slowest node."""
    families: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in rows:
        families.setdefault((r["benchmark"], r["scenario"], r["mode"]), []).append(r)
    for fam in families.values():
        measured = [r for r in fam if r["wall_throughput"] is not None]
        base = next(
            (r for r in measured if baseline_setting and r["node"] == baseline_setting), None
        )
        source = BASELINE_FROM_SETTINGS
        if base is None and measured:
            base = min(measured, key=lambda r: (r["wall_throughput"], r["node"] or ""))
            source = BASELINE_SLOWEST
            if baseline_setting:
                source += f" (baseline_node {baseline_setting!r} has no measured run here)"
        for r in fam:
            r["baseline_node"] = base["node"] if base else None
            r["baseline_source"] = source if base else None
            r["relative_wall"] = (
                figures.relative(r["wall_throughput"], base["wall_throughput"]) if base else None
            )
            rate = r["metric_unit"] in RATE_UNITS and base is not None
            r["relative_loadgen"] = (
                figures.relative(r["mean_metric"], base["mean_metric"])
                if rate and base["metric_unit"] == r["metric_unit"]  # type: ignore[index]
                else None
            )


# --- sweeps ------------------------------------------------------------------------------------

SWEEP_COLUMNS = aggregate(
    ("node", pl.Utf8),
    ("benchmark", pl.Utf8),
    ("scenario", pl.Utf8),
    ("mode", pl.Utf8),
    ("samples_requested", pl.Int64),
    ("runs", pl.Int64),
    ("run_dirs", pl.List(pl.Utf8)),
    ("metric_unit", pl.Utf8),
    ("mean_metric", pl.Float64),
    ("samples_processed_sum", pl.Int64),
    ("duration_s_sum", pl.Float64),
    ("mean_duration_s", pl.Float64),
    ("wall_throughput", pl.Float64),
)


def _sweep_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    buckets: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for r in rows:
        single = r["group_id"] is None and r["kind"] != FLEET_KIND
        if r["ok"] and single and r["samples_requested"] is not None:
            key = (r["node"], r["benchmark"], r["scenario"], r["mode"], r["samples_requested"])
            buckets.setdefault(key, []).append(r)
    out = []
    for (node, bench, scen, mode, n), rs in sorted(buckets.items(), key=lambda kv: str(kv[0][:4])):
        units = {r["metric_unit"] for r in rs if r["metric_value"] is not None}
        unit = next(iter(units)) if len(units) == 1 else None
        values = [r["metric_value"] for r in rs if r["metric_value"] is not None] if unit else []
        walls = [r for r in rs if r["samples_processed"] is not None and r["duration_s"]]
        processed = sum(r["samples_processed"] for r in walls) if walls else None
        duration = sum(r["duration_s"] for r in walls) if walls else None
        out.append(
            {
                "node": node,
                "benchmark": bench,
                "scenario": scen,
                "mode": mode,
                "samples_requested": n,
                "runs": len(rs),
                "run_dirs": [r["run_dir"] for r in rs],
                "metric_unit": unit,
                "mean_metric": sum(values) / len(values) if values else None,
                "samples_processed_sum": processed,
                "duration_s_sum": duration,
                "mean_duration_s": duration / len(walls) if walls else None,
                "wall_throughput": figures.wall_throughput(processed, duration),
            }
        )
    out.sort(key=lambda r: (str(r["node"]), str(r["benchmark"]), r["samples_requested"]))
    return out


# --- groups ------------------------------------------------------------------------------------


def _group_at(name: str) -> Callable[[RecordedGroup], Any]:
    return lambda g: getattr(g.summary, name)


def _singles(g: RecordedGroup) -> list[float | None]:
    return [g.summary.single_run_throughputs.get(n) for n in g.summary.nodes]


GROUP_COLUMNS: tuple[Column[RecordedGroup], ...] = (
    Column("group_dir", pl.Utf8, lambda g: g.group_dir.name),
    Column("path", pl.Utf8, lambda g: str(g.group_dir)),
    *(
        Column(name, dtype, _group_at(name))
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
    Column("split", pl.Utf8, _group_at("split")),
    Column("split_source", pl.Utf8, _group_at("split_source")),
    Column("simulated", pl.Boolean, _group_at("simulated")),
    Column("shards", pl.Int64, lambda g: len(g.summary.shards)),
    *(
        Column(name, dtype, _group_at(name))
        for name, dtype in (
            ("total_samples_requested", pl.Int64),
            ("samples_processed", pl.Int64),
            ("start_unix", pl.Float64),
            ("end_unix", pl.Float64),
            ("makespan_s", pl.Float64),
            ("combined_throughput", pl.Float64),
        )
    ),
    Column(
        "sum_loadgen_metric",
        pl.Float64,
        lambda g: g.summary.sum_loadgen_metric.value if g.summary.sum_loadgen_metric else None,
    ),
    Column(
        "sum_loadgen_unit",
        pl.Utf8,
        lambda g: g.summary.sum_loadgen_metric.unit if g.summary.sum_loadgen_metric else None,
    ),
    Column("sequential_s", pl.Float64, _group_at("sequential_s")),
    Column("speedup", pl.Float64, _group_at("speedup")),
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
    Column("scaling_efficiency", pl.Float64, _group_at("scaling_efficiency")),
    Column(
        "projection_h_combined",
        pl.Float64,
        lambda g: figures.projection_hours(g.summary.dataset_size, g.summary.combined_throughput),
    ),
)

_Shard = tuple[RecordedGroup, ShardRecord]


def _shard_at(name: str) -> Callable[[_Shard], Any]:
    return lambda gs: getattr(gs[1], name)


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
    Column("state", pl.Utf8, lambda gs: _state(gs[1].state)),
    Column("validity", pl.Utf8, _shard_at("validity")),
    Column("metric_value", pl.Float64, lambda gs: gs[1].metric.value if gs[1].metric else None),
    Column("metric_unit", pl.Utf8, lambda gs: gs[1].metric.unit if gs[1].metric else None),
    Column("wall_throughput", pl.Float64, _shard_at("wall_throughput")),
    Column("single_run_throughput", pl.Float64, _single_of("single_run_throughputs")),
    Column("single_run_source", pl.Utf8, _single_of("single_run_sources")),
)


# --- entry point -------------------------------------------------------------------------------


def baseline_from_snapshot(records: Sequence[RecordedRun]) -> tuple[str | None, str | None]:
    """`[settings] baseline_node` of the newest run's config snapshot, with the file's path."""
    for rec in reversed(records):
        path = rec.run_dir / SNAPSHOT
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
        settings = data.get("settings")
        node = settings.get("baseline_node") if isinstance(settings, Mapping) else None
        return (str(node), str(path)) if isinstance(node, str) and node else (None, None)
    return None, None


def load_results(results_dir: str | Path, *, baseline_node: str | None = None) -> Results:
    """Read every run and group summary under `results_dir` and build the frames.

    `baseline_node` names the node others are compared with; None: the newest config
    snapshot's `settings.baseline_node`, else the slowest node by wall throughput (each
    `nodes` row says which in `baseline_source`). A missing or empty dir gives empty frames."""
    store = ResultsStore(results_dir)
    run_records = tuple(store.runs())
    group_records = tuple(store.groups())
    run_records = tuple(sorted(run_records, key=lambda r: r.summary.wall.start_unix or 0.0))
    if baseline_node:
        setting, setting_source = baseline_node, "caller"
    else:
        setting, setting_source = baseline_from_snapshot(run_records)
    rows = rows_of(RUN_COLUMNS, run_records)
    shards = [(g, s) for g in group_records for s in g.summary.shards]
    fleets, fleet_endpoints = fleet_frames(run_records)
    return Results(
        results_dir=Path(results_dir),
        runs=frame_of(RUN_COLUMNS, rows),
        nodes=frame_of(NODE_COLUMNS, _node_rows(rows, setting)),
        groups=frame_of(GROUP_COLUMNS, rows_of(GROUP_COLUMNS, group_records)),
        shards=frame_of(SHARD_COLUMNS, rows_of(SHARD_COLUMNS, shards)),
        sweeps=frame_of(SWEEP_COLUMNS, _sweep_rows(rows)),
        run_records=run_records,
        group_records=group_records,
        baseline_setting=setting,
        baseline_setting_source=setting_source,
        fleets=fleets,
        fleet_endpoints=fleet_endpoints,
    )
