"""Polars frames over recorded results: one row per run, per node, per group, per sweep point.

Everything is read from the summaries the orchestrator wrote (`orchestrator_summary.json`,
`group_summary.json`, schemas in `engine.results.store`); every derived figure is computed by
`engine.figures`. Where a summary lacks a figure the cell is null: nothing is made up, and the
reports show it as missing with the reason.

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
from engine.analysis.fleet_frames import FLEET_KIND, fleet_frames
from engine.model import RunState
from engine.results.store import SNAPSHOT, TELEMETRY, RecordedGroup, RecordedRun, ResultsStore

OK_STATES = frozenset({RunState.SUCCEEDED.value, RunState.HARNESS_ERROR_AFTER_COMPLETE.value})
# LoadGen metrics that are rates, so a larger value is better and a mean/sum/projection makes
# sense; latency metrics ("ns") are none of these.
RATE_UNITS = frozenset({"samples/s", "tokens/s", "queries/s"})

BASELINE_FROM_SETTINGS = "settings.baseline_node"
BASELINE_SLOWEST = "slowest node by wall throughput"


@dataclass(frozen=True)
class Results:
    """Recorded results as frames, plus the raw summaries the reports quote from.

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
        return any(bool(r.summary.get("simulated")) for r in self.run_records) or any(
            bool(g.summary.get("simulated")) for g in self.group_records
        )

    @property
    def telemetry_files(self) -> list[tuple[str, Path]]:
        """(run_dir name, telemetry.csv path) for runs whose summary lists a telemetry file."""
        return [
            (r.run_dir.name, r.run_dir / TELEMETRY)
            for r in self.run_records
            if TELEMETRY in (r.summary.get("files") or ())
        ]


# --- reading -----------------------------------------------------------------------------------


def _d(x: Any) -> Mapping[str, Any]:
    return x if isinstance(x, Mapping) else {}


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return float(x)


def _int(x: Any) -> int | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return int(x)


def _str(x: Any) -> str | None:
    return None if x is None else str(x)


RUN_SCHEMA: dict[str, Any] = {
    "run_dir": pl.Utf8,
    "path": pl.Utf8,
    "run_id": pl.Utf8,
    "kind": pl.Utf8,
    "node": pl.Utf8,
    "group_id": pl.Utf8,
    "stage": pl.Utf8,
    "label": pl.Utf8,
    "benchmark": pl.Utf8,
    "scenario": pl.Utf8,
    "mode": pl.Utf8,
    "dataset_size": pl.Int64,
    "simulated": pl.Boolean,
    "samples_requested": pl.Int64,
    "shard_start": pl.Int64,
    "samples_processed": pl.Int64,
    "samples_mismatch": pl.Boolean,
    "start_unix": pl.Float64,
    "end_unix": pl.Float64,
    "duration_s": pl.Float64,
    "complete": pl.Boolean,
    "validity": pl.Utf8,
    "validity_reasons": pl.List(pl.Utf8),
    "metric_name": pl.Utf8,
    "metric_value": pl.Float64,
    "metric_unit": pl.Utf8,
    "metric_key": pl.Utf8,
    "token_metric_name": pl.Utf8,
    "token_metric_value": pl.Float64,
    "token_metric_unit": pl.Utf8,
    "loadgen_problems": pl.List(pl.Utf8),
    "wall_throughput": pl.Float64,
    "state": pl.Utf8,
    "ok": pl.Boolean,
    "exit_code": pl.Int64,
    "exit_detail": pl.Utf8,
    "telemetry_state": pl.Utf8,
    "telemetry_detail": pl.Utf8,
    "telemetry_file": pl.Boolean,
    "gpu_names": pl.Utf8,
    "util_mean": pl.Float64,
    "util_max": pl.Float64,
    "mem_peak_mib": pl.Float64,
}


def run_row(rec: RecordedRun) -> dict[str, Any]:
    """One run summary as a `runs` frame row (a dict keyed by the frame's columns): the single
    reading of the schema that the frames and the per-run report share."""
    s = rec.summary
    wall, lg, ex = _d(s.get("wall")), _d(s.get("loadgen")), _d(s.get("exit"))
    metric, token, tel = _d(lg.get("metric")), _d(lg.get("token_metric")), _d(s.get("telemetry"))
    gpus = [_d(g) for g in tel.get("gpus") or () if isinstance(g, Mapping)]
    util_means = [_num(g.get("util_mean")) for g in gpus]
    util_maxes = [_num(g.get("util_max")) for g in gpus]
    mem_peaks = [_num(g.get("mem_peak_mib")) for g in gpus]
    requested, processed = _int(s.get("samples_requested")), _int(s.get("samples_processed"))
    state = _str(ex.get("state"))
    return {
        "run_dir": rec.run_dir.name,
        "path": str(rec.run_dir),
        "run_id": _str(s.get("run_id")),
        "kind": _str(s.get("kind")) or "run",
        "node": _str(s.get("node")),
        "group_id": _str(s.get("group_id")),
        "stage": _str(s.get("stage")),
        "label": _str(s.get("label")),
        "benchmark": _str(s.get("benchmark")),
        "scenario": _str(s.get("scenario")),
        "mode": _str(s.get("mode")),
        "dataset_size": _int(s.get("dataset_size")),
        "simulated": bool(s.get("simulated")),
        "samples_requested": requested,
        "shard_start": _int(s.get("shard_start")),
        "samples_processed": processed,
        "samples_mismatch": None
        if requested is None or processed is None
        else requested != processed,
        "start_unix": _num(wall.get("start_unix")),
        "end_unix": _num(wall.get("end_unix")),
        "duration_s": _num(wall.get("duration_s")),
        "complete": lg.get("complete") if isinstance(lg.get("complete"), bool) else None,
        "validity": _str(lg.get("validity")),
        "validity_reasons": [str(r) for r in lg.get("validity_reasons") or ()],
        "metric_name": _str(metric.get("name")),
        "metric_value": _num(metric.get("value")),
        "metric_unit": _str(metric.get("unit")),
        "metric_key": _str(metric.get("key")),
        "token_metric_name": _str(token.get("name")),
        "token_metric_value": _num(token.get("value")),
        "token_metric_unit": _str(token.get("unit")),
        "loadgen_problems": [str(p) for p in lg.get("problems") or ()],
        "wall_throughput": _num(_d(s.get("wall_throughput")).get("value")),
        "state": state,
        "ok": state in OK_STATES,
        "exit_code": _int(ex.get("code")),
        "exit_detail": _str(ex.get("detail")),
        "telemetry_state": _str(tel.get("state")),
        "telemetry_detail": _str(tel.get("detail")),
        "telemetry_file": TELEMETRY in (s.get("files") or ()),
        "gpu_names": ", ".join(sorted({str(g.get("name")) for g in gpus if g.get("name")})) or None,
        # Over all GPUs of the run: mean of per-GPU means, max of per-GPU maxima. A GPU that
        # lacks the figure makes the run's figure unknown rather than skewed.
        "util_mean": None
        if not util_means or None in util_means
        else sum(util_means) / len(util_means),  # type: ignore[arg-type]
        "util_max": None if not util_maxes or None in util_maxes else max(util_maxes),  # type: ignore[type-var]
        "mem_peak_mib": None if not mem_peaks or None in mem_peaks else max(mem_peaks),  # type: ignore[type-var]
    }


def _frame(rows: Sequence[Mapping[str, Any]], schema: Mapping[str, Any]) -> pl.DataFrame:
    cols = {name: [r.get(name) for r in rows] for name in schema}
    return pl.DataFrame(cols, schema=dict(schema))


def runs_frame(records: Sequence[RecordedRun]) -> pl.DataFrame:
    return _frame([run_row(r) for r in records], RUN_SCHEMA)


# --- per node ----------------------------------------------------------------------------------

NODE_SCHEMA: dict[str, Any] = {
    "node": pl.Utf8,
    "benchmark": pl.Utf8,
    "scenario": pl.Utf8,
    "mode": pl.Utf8,
    "simulated": pl.Boolean,
    "runs": pl.Int64,
    "run_dirs": pl.List(pl.Utf8),
    "invalid_runs": pl.List(pl.Utf8),
    "metric_name": pl.Utf8,
    "metric_unit": pl.Utf8,
    "metric_runs": pl.Int64,
    "best_metric": pl.Float64,
    "mean_metric": pl.Float64,
    "wall_runs": pl.List(pl.Utf8),
    "samples_processed_sum": pl.Int64,
    "duration_s_sum": pl.Float64,
    "wall_throughput": pl.Float64,
    "baseline_node": pl.Utf8,
    "baseline_source": pl.Utf8,
    "relative_wall": pl.Float64,
    "relative_loadgen": pl.Float64,
    "dataset_size": pl.Int64,
    "projection_h_wall": pl.Float64,
    "projection_h_loadgen": pl.Float64,
}

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

SWEEP_SCHEMA: dict[str, Any] = {
    "node": pl.Utf8,
    "benchmark": pl.Utf8,
    "scenario": pl.Utf8,
    "mode": pl.Utf8,
    "samples_requested": pl.Int64,
    "runs": pl.Int64,
    "run_dirs": pl.List(pl.Utf8),
    "metric_unit": pl.Utf8,
    "mean_metric": pl.Float64,
    "samples_processed_sum": pl.Int64,
    "duration_s_sum": pl.Float64,
    "mean_duration_s": pl.Float64,
    "wall_throughput": pl.Float64,
}


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

GROUP_FRAME_SCHEMA: dict[str, Any] = {
    "group_dir": pl.Utf8,
    "path": pl.Utf8,
    "group_id": pl.Utf8,
    "name": pl.Utf8,
    "benchmark": pl.Utf8,
    "scenario": pl.Utf8,
    "mode": pl.Utf8,
    "dataset_size": pl.Int64,
    "nodes": pl.List(pl.Utf8),
    "split": pl.Utf8,
    "split_source": pl.Utf8,
    "simulated": pl.Boolean,
    "shards": pl.Int64,
    "total_samples_requested": pl.Int64,
    "samples_processed": pl.Int64,
    "start_unix": pl.Float64,
    "end_unix": pl.Float64,
    "makespan_s": pl.Float64,
    "combined_throughput": pl.Float64,
    "sum_loadgen_metric": pl.Float64,
    "sum_loadgen_unit": pl.Utf8,
    "sequential_s": pl.Float64,
    "speedup": pl.Float64,
    "ideal_throughput": pl.Float64,
    "single_run_sources": pl.List(pl.Utf8),
    "scaling_efficiency": pl.Float64,
    "projection_h_combined": pl.Float64,
}

SHARD_SCHEMA: dict[str, Any] = {
    "group_dir": pl.Utf8,
    "group_id": pl.Utf8,
    "node": pl.Utf8,
    "run_id": pl.Utf8,
    "run_dir": pl.Utf8,
    "shard_start": pl.Int64,
    "samples_requested": pl.Int64,
    "samples_processed": pl.Int64,
    "duration_s": pl.Float64,
    "start_unix": pl.Float64,
    "end_unix": pl.Float64,
    "state": pl.Utf8,
    "validity": pl.Utf8,
    "metric_value": pl.Float64,
    "metric_unit": pl.Utf8,
    "wall_throughput": pl.Float64,
    "single_run_throughput": pl.Float64,
    "single_run_source": pl.Utf8,
}


def _group_rows(
    records: Sequence[RecordedGroup],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    groups, shards = [], []
    for rec in records:
        s = rec.summary
        singles = _d(s.get("single_run_throughputs"))
        sources = _d(s.get("single_run_sources"))
        nodes = [str(n) for n in s.get("nodes") or ()]
        metric_sum = _d(s.get("sum_loadgen_metric"))
        single_values = [_num(singles.get(n)) for n in nodes]
        combined = _num(s.get("combined_throughput"))
        dataset = _int(s.get("dataset_size"))
        shard_list = [_d(x) for x in s.get("shards") or () if isinstance(x, Mapping)]
        groups.append(
            {
                "group_dir": rec.group_dir.name,
                "path": str(rec.group_dir),
                "group_id": _str(s.get("group_id")),
                "name": _str(s.get("name")),
                "benchmark": _str(s.get("benchmark")),
                "scenario": _str(s.get("scenario")),
                "mode": _str(s.get("mode")),
                "dataset_size": dataset,
                "nodes": nodes,
                "split": _str(s.get("split")),
                "split_source": _str(s.get("split_source")),
                "simulated": bool(s.get("simulated")),
                "shards": len(shard_list),
                "total_samples_requested": _int(s.get("total_samples_requested")),
                "samples_processed": _int(s.get("samples_processed")),
                "start_unix": _num(s.get("start_unix")),
                "end_unix": _num(s.get("end_unix")),
                "makespan_s": _num(s.get("makespan_s")),
                "combined_throughput": combined,
                "sum_loadgen_metric": _num(metric_sum.get("value")),
                "sum_loadgen_unit": _str(metric_sum.get("unit")),
                "sequential_s": _num(s.get("sequential_s")),
                "speedup": _num(s.get("speedup")),
                # The ideal: the same nodes side by side at their single-run wall throughputs.
                "ideal_throughput": figures.sum_metric(single_values) if nodes else None,
                "single_run_sources": [str(sources.get(n) or "") for n in nodes],
                "scaling_efficiency": _num(s.get("scaling_efficiency")),
                "projection_h_combined": figures.projection_hours(dataset, combined),
            }
        )
        for sh in shard_list:
            node = _str(sh.get("node"))
            metric = _d(sh.get("metric"))
            shards.append(
                {
                    "group_dir": rec.group_dir.name,
                    "group_id": _str(s.get("group_id")),
                    "node": node,
                    "run_id": _str(sh.get("run_id")),
                    "run_dir": _str(sh.get("run_dir")),
                    "shard_start": _int(sh.get("shard_start")),
                    "samples_requested": _int(sh.get("samples_requested")),
                    "samples_processed": _int(sh.get("samples_processed")),
                    "duration_s": _num(sh.get("duration_s")),
                    "start_unix": _num(sh.get("start_unix")),
                    "end_unix": _num(sh.get("end_unix")),
                    "state": _str(sh.get("state")),
                    "validity": _str(sh.get("validity")),
                    "metric_value": _num(metric.get("value")),
                    "metric_unit": _str(metric.get("unit")),
                    "wall_throughput": _num(sh.get("wall_throughput")),
                    "single_run_throughput": _num(singles.get(node)) if node else None,
                    "single_run_source": _str(sources.get(node)) if node else None,
                }
            )
    return groups, shards


# --- entry point -------------------------------------------------------------------------------


def baseline_from_snapshot(records: Sequence[RecordedRun]) -> tuple[str | None, str | None]:
    """`[settings] baseline_node` of the newest run's config snapshot, with the file's path."""
    for rec in reversed(records):
        path = rec.run_dir / SNAPSHOT
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
        node = _d(data.get("settings")).get("baseline_node")
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
    run_records = tuple(
        sorted(run_records, key=lambda r: _d(r.summary.get("wall")).get("start_unix") or 0.0)
    )
    if baseline_node:
        setting, setting_source = baseline_node, "caller"
    else:
        setting, setting_source = baseline_from_snapshot(run_records)
    rows = [run_row(r) for r in run_records]
    group_rows, shard_rows = _group_rows(group_records)
    fleets, fleet_endpoints = fleet_frames(run_records)
    return Results(
        results_dir=Path(results_dir),
        runs=_frame(rows, RUN_SCHEMA),
        nodes=_frame(_node_rows(rows, setting), NODE_SCHEMA),
        groups=_frame(group_rows, GROUP_FRAME_SCHEMA),
        shards=_frame(shard_rows, SHARD_SCHEMA),
        sweeps=_frame(_sweep_rows(rows), SWEEP_SCHEMA),
        run_records=run_records,
        group_records=group_records,
        baseline_setting=setting,
        baseline_setting_source=setting_source,
        fleets=fleets,
        fleet_endpoints=fleet_endpoints,
    )
