"""Polars frames over recorded results: one row per run, per node, per group, per sweep point.

Everything is read from the typed summaries of `engine.results.schema` (any version it reads,
so results recorded by 0.1.0 still report); every derived figure is computed by
`engine.figures`. Where a summary lacks a figure the cell is null: nothing is made up, and the
reports show it as missing with the reason.

Each frame's columns are declared once, as `Column`s (name, polars type, and where in the
summary the value comes from; `engine.analysis.columns`); the polars schema and the rows are
both built from that list.
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from engine import figures
from engine.analysis.columns import (
    FAMILY,
    FAMILY_COLUMNS,
    GROUP_COLUMNS,
    RUN_COLUMNS,
    SHARD_COLUMNS,
    aggregate,
    frame_of,
    rows_of,
)
from engine.analysis.fleet_frames import FLEET_KIND, fleet_frames
from engine.results.store import SNAPSHOT, RecordedGroup, RecordedRun, ResultsStore

# LoadGen metrics that are rates, so a larger value is better and a mean/sum/projection makes
# sense; latency metrics ("ns") are none of these.
RATE_UNITS = frozenset({"samples/s", "tokens/s", "queries/s"})

BASELINE_FROM_SETTINGS = "settings.baseline_node"
BASELINE_SLOWEST = "slowest node by wall throughput"


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
    # One sentence per summary file left out because it could not be read.
    unreadable: tuple[str, ...] = ()

    @property
    def simulated(self) -> bool:
        """True when any recorded run or group says its node speeds were simulated."""
        return any(r.summary.simulated for r in self.run_records) or any(
            g.summary.simulated for g in self.group_records
        )


# --- per node ----------------------------------------------------------------------------------

NODE_COLUMNS = aggregate(
    *FAMILY_COLUMNS,
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
_Key = tuple[str | None, ...]  # a FAMILY


@dataclass(frozen=True)
class _Measured:
    """What a bucket of completed runs (a node's, or a sweep point's) measured together."""

    unit: str | None  # LoadGen's metric unit, when the runs share one
    values: list[float]  # their LoadGen metric values (none when units are mixed)
    walls: list[Mapping[str, Any]]  # the runs with both a processed count and a duration
    processed: int | None  # summed over `walls`
    duration: float | None

    @classmethod
    def of(cls, rs: Sequence[Mapping[str, Any]]) -> _Measured:
        units = {r["metric_unit"] for r in rs if r["metric_value"] is not None}
        # Mixed units (e.g. a harness that changed) cannot be averaged: leave the metric missing.
        unit = next(iter(units)) if len(units) == 1 else None
        values = [r["metric_value"] for r in rs if r["metric_value"] is not None] if unit else []
        # Wall throughput over the runs that have both figures: summed samples / summed time.
        walls = [r for r in rs if r["samples_processed"] is not None and r["duration_s"]]
        processed = sum(r["samples_processed"] for r in walls) if walls else None
        duration = sum(r["duration_s"] for r in walls) if walls else None
        return cls(unit, values, walls, processed, duration)

    @property
    def mean(self) -> float | None:
        return sum(self.values) / len(self.values) if self.values else None

    @property
    def best(self) -> float | None:
        """The highest rate, or the lowest latency."""
        if not self.values:
            return None
        return max(self.values) if self.unit in RATE_UNITS else min(self.values)

    @property
    def wall_throughput(self) -> float | None:
        return figures.wall_throughput(self.processed, self.duration)


def _node_rows(
    rows: Sequence[Mapping[str, Any]], baseline_setting: str | None
) -> list[dict[str, Any]]:
    """Completed single runs (not group shards), aggregated per node/benchmark/scenario/mode."""
    buckets: dict[_Key, list[Mapping[str, Any]]] = {}
    for r in rows:
        if r["ok"] and r["group_id"] is None and r["kind"] != FLEET_KIND:
            key = tuple(r[k] for k in FAMILY)
            buckets.setdefault(key, []).append(r)
    out = []
    for (node, bench, scen, mode), rs in sorted(buckets.items(), key=lambda kv: str(kv[0])):
        m = _Measured.of(rs)
        names = {r["metric_name"] for r in rs if r["metric_value"] is not None}
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
                "metric_unit": m.unit,
                "metric_runs": len(m.values),
                "best_metric": m.best,
                "mean_metric": m.mean,
                "wall_runs": [r["run_dir"] for r in m.walls],
                "samples_processed_sum": m.processed,
                "duration_s_sum": m.duration,
                "wall_throughput": m.wall_throughput,
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
    *FAMILY_COLUMNS,
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
            key = (*(r[k] for k in FAMILY), r["samples_requested"])
            buckets.setdefault(key, []).append(r)
    out = []
    for (node, bench, scen, mode, n), rs in sorted(buckets.items(), key=lambda kv: str(kv[0][:4])):
        m = _Measured.of(rs)
        out.append(
            {
                "node": node,
                "benchmark": bench,
                "scenario": scen,
                "mode": mode,
                "samples_requested": n,
                "runs": len(rs),
                "run_dirs": [r["run_dir"] for r in rs],
                "metric_unit": m.unit,
                "mean_metric": m.mean,
                "samples_processed_sum": m.processed,
                "duration_s_sum": m.duration,
                "mean_duration_s": m.duration / len(m.walls) if m.duration is not None else None,
                "wall_throughput": m.wall_throughput,
            }
        )
    out.sort(key=lambda r: (str(r["node"]), str(r["benchmark"]), r["samples_requested"]))
    return out


# --- entry point -------------------------------------------------------------------------------


def snapshot_setting(records: Sequence[RecordedRun], key: str) -> tuple[Any, str | None]:
    """`[settings] KEY` of the newest run's readable config snapshot, with the file's path;
    (None, None) when that snapshot lacks it or no snapshot can be read."""
    for rec in reversed(records):
        path = rec.run_dir / SNAPSHOT
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
        settings = data.get("settings")
        value = settings.get(key) if isinstance(settings, Mapping) else None
        return (value, str(path)) if value is not None else (None, None)
    return None, None


def baseline_from_snapshot(records: Sequence[RecordedRun]) -> tuple[str | None, str | None]:
    """`[settings] baseline_node` of the newest run's config snapshot, with the file's path."""
    node, path = snapshot_setting(records, "baseline_node")
    return (node, path) if isinstance(node, str) and node else (None, None)


def sweep_points(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The per-sweep-point rows (SWEEP_COLUMNS) over any runs frame rows (a stage's)."""
    return _sweep_rows(rows)


def node_frame(rows: Sequence[Mapping[str, Any]], baseline_setting: str | None) -> pl.DataFrame:
    """The per-node frame (NODE_COLUMNS) over any runs frame rows: what `Results.nodes` is for
    a whole results dir, and what a stage's comparison is for that stage's runs."""
    return frame_of(NODE_COLUMNS, _node_rows(rows, baseline_setting))


def load_results(results_dir: str | Path, *, baseline_node: str | None = None) -> Results:
    """Read every run and group summary under `results_dir` and build the frames.

    `baseline_node` names the node others are compared with; None: the newest config
    snapshot's `settings.baseline_node`, else the slowest node by wall throughput (each
    `nodes` row says which in `baseline_source`). A missing or empty dir gives empty frames."""
    runs, groups, unreadable = ResultsStore(results_dir).read_all()
    group_records = tuple(groups)
    run_records = tuple(sorted(runs, key=lambda r: r.summary.wall.start_unix or 0.0))
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
        nodes=node_frame(rows, setting),
        groups=frame_of(GROUP_COLUMNS, rows_of(GROUP_COLUMNS, group_records)),
        shards=frame_of(SHARD_COLUMNS, rows_of(SHARD_COLUMNS, shards)),
        sweeps=frame_of(SWEEP_COLUMNS, _sweep_rows(rows)),
        run_records=run_records,
        group_records=group_records,
        baseline_setting=setting,
        baseline_setting_source=setting_source,
        fleets=fleets,
        fleet_endpoints=fleet_endpoints,
        unreadable=tuple(unreadable),
    )
