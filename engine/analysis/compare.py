"""Two recorded runs side by side, or every node of one stage against its baseline node.

Both throughputs are always given and named: LoadGen's metric (the MLPerf number) and the wall
throughput (samples processed / wall time, model load included). A difference is B - A in the
figure's unit, a ratio B / A (`engine.figures`); a figure that either side lacks, or that the
two sides give in different units, has neither, and the comparison says why.

A stage's comparison reads its runs from the newest plan the journals name for that stage
(a config run on several days has a stage of that name each time), and aggregates per node
with the runs frame's own per-node aggregation (`engine.analysis.frames.node_frame`): mean
LoadGen metric, wall throughput over all the node's runs, speedup against the baseline node.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine import figures
from engine.analysis.columns import run_row
from engine.analysis.fleet_frames import FLEET_KIND
from engine.analysis.frames import RATE_UNITS, load_results, node_frame, sweep_points
from engine.checks.regression import LOADGEN_METRIC, WALL_THROUGHPUT
from engine.errors import UsageError
from engine.results.plan_journal import plans_of_runs
from engine.results.schema import RUN_SUMMARY_FILE, SummaryUnreadable, read_run_summary
from engine.results.store import RecordedRun, ResultsStore

_SIDE_KEYS = (
    "path",
    "run_id",
    "node",
    "benchmark",
    "scenario",
    "mode",
    "stage",
    "samples_requested",
    "samples_processed",
    "duration_s",
    "state",
    "validity",
    "start_unix",
    "metric_name",
    "metric_value",
    "metric_unit",
    "wall_throughput",
)
_SAME = ("node", "benchmark", "scenario", "mode", "samples_requested")


@dataclass(frozen=True)
class Delta:
    """One figure of both sides: B - A and B / A, or `note` saying why there are none."""

    name: str  # LOADGEN_METRIC or WALL_THROUGHPUT
    unit: str | None
    a: float | None
    b: float | None
    difference: float | None
    ratio: float | None
    note: str = ""


def delta(
    name: str, a: float | None, b: float | None, unit_a: str | None, unit_b: str | None
) -> Delta:
    if a is None or b is None:
        which = "A" if a is None else "B"
        return Delta(name, unit_a or unit_b, a, b, None, None, f"run {which} has no {name}")
    if unit_a != unit_b:
        return Delta(name, None, a, b, None, None, f"units differ ({unit_a} vs {unit_b})")
    note = "" if name == WALL_THROUGHPUT or unit_a in RATE_UNITS else "a latency: lower is better"
    return Delta(name, unit_a, a, b, figures.difference(b, a), figures.relative(b, a), note)


@dataclass(frozen=True)
class RunComparison:
    """Run A and run B: the runs frame's fields of each, both figures, and what differs in
    what they ran (node, benchmark, scenario, mode, samples)."""

    a: Mapping[str, Any]
    b: Mapping[str, Any]
    loadgen: Delta
    wall: Delta
    differs: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "a": dict(self.a),
            "b": dict(self.b),
            "loadgen_metric": asdict(self.loadgen),
            "wall_throughput": asdict(self.wall),
            "differs": list(self.differs),
        }


def compare_runs(a: RecordedRun, b: RecordedRun) -> RunComparison:
    ra, rb = run_row(a), run_row(b)
    side_a = {k: ra[k] for k in _SIDE_KEYS}
    side_b = {k: rb[k] for k in _SIDE_KEYS}
    return RunComparison(
        side_a,
        side_b,
        delta(
            LOADGEN_METRIC,
            ra["metric_value"],
            rb["metric_value"],
            ra["metric_unit"],
            rb["metric_unit"],
        ),
        delta(
            WALL_THROUGHPUT, ra["wall_throughput"], rb["wall_throughput"], "samples/s", "samples/s"
        ),
        tuple(k for k in _SAME if ra[k] != rb[k]),
    )


def find_run(ref: str, dirs: Sequence[str | Path]) -> RecordedRun:
    """A run by its run dir (a path), or by run id or run dir name under `dirs`. UsageError
    (exit 2) when nothing or more than one run matches."""
    path = Path(ref)
    if (path / RUN_SUMMARY_FILE).is_file():
        try:
            return RecordedRun(path, read_run_summary(path))
        except SummaryUnreadable as exc:
            raise UsageError(str(exc)) from None
    if path.exists():
        raise UsageError(f"{ref}: not a run dir (no {RUN_SUMMARY_FILE} in it)")
    found = [
        rec
        for d in dirs
        for rec in ResultsStore(d).runs()
        if ref in (rec.run_dir.name, rec.summary.run_id)
    ]
    if not found:
        where = ", ".join(str(d) for d in dirs) or "no results dir"
        raise UsageError(f"{ref}: no run dir or run id of that name under {where}")
    if len(found) > 1:
        dirs_found = ", ".join(str(r.run_dir) for r in found[:4])
        raise UsageError(f"{ref}: {len(found)} runs have that id ({dirs_found}); give a run dir")
    return found[0]


# --- a stage -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageComparison:
    """Per node (and benchmark, scenario, mode) of one stage of one plan: the NODE_COLUMNS
    rows, plus `loadgen_vs_baseline` / `wall_vs_baseline` (node - baseline, in the unit)."""

    stage: str
    plan_id: str | None  # None: the journals name no plan for these runs (0.1.0)
    run_dirs: tuple[str, ...]
    shards: bool  # a group stage: its shards' figures
    nodes: tuple[dict[str, Any], ...]
    # Per node and samples requested (a sweep's points; SWEEP_COLUMNS), each with the speedup
    # over the baseline node's point of the same sample count.
    points: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "plan_id": self.plan_id,
            "run_dirs": list(self.run_dirs),
            "group_shards": self.shards,
            "nodes": [dict(n) for n in self.nodes],
            "points": [dict(p) for p in self.points],
        }


def compare_stage(
    dirs: Sequence[str | Path], stage: str, baseline_node: str | None = None
) -> StageComparison:
    """Every node's figures in `stage` (the newest plan that ran it) against one baseline
    node: `baseline_node`, else the snapshot's settings.baseline_node, else the slowest node.
    UsageError when no recorded run belongs to a stage of that name."""
    candidates: list[tuple[str | None, dict[str, Any]]] = []
    baseline = baseline_node
    for d in dirs:
        results = load_results(d, baseline_node=baseline_node)
        baseline = baseline or results.baseline_setting
        plans = plans_of_runs(ResultsStore(d).journal_entries())
        for row in results.runs.to_dicts():
            if row["stage"] == stage and row["kind"] != FLEET_KIND:
                candidates.append((plans.get(row["run_dir"]), row))
    if not candidates:
        raise UsageError(f"no recorded run belongs to a stage named {stage!r}")
    newest = max(candidates, key=lambda pr: pr[1]["start_unix"] or 0.0)[0]
    rows = [r for p, r in candidates if p == newest]
    shards = all(r["group_id"] is not None for r in rows)
    if shards:  # a group's stage: each shard counts as its node's run
        rows = [{**r, "group_id": None} for r in rows]
    nodes = node_frame(rows, baseline).to_dicts()
    for n in nodes:
        base = next(
            (m for m in nodes if _family(m) == _family(n) and m["node"] == n["baseline_node"]), None
        )
        same_unit = base is not None and base["metric_unit"] == n["metric_unit"]
        n["loadgen_vs_baseline"] = (
            figures.difference(n["mean_metric"], base["mean_metric"]) if same_unit else None  # type: ignore[index]
        )
        n["wall_vs_baseline"] = (
            figures.difference(n["wall_throughput"], base["wall_throughput"]) if base else None
        )
    points = _points(rows, nodes)
    dirs = tuple(str(r["run_dir"]) for r in rows)
    return StageComparison(stage, newest, dirs, shards, tuple(nodes), tuple(points))


def _points(
    rows: Sequence[Mapping[str, Any]], nodes: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Each sweep point against the baseline node's point of the same family and count."""
    base_of = {(*_family(n), n["node"]): n["baseline_node"] for n in nodes}
    points = sweep_points(rows)
    at = {(*_family(p), p["node"], p["samples_requested"]): p for p in points}
    for p in points:
        base_node = base_of.get((*_family(p), p["node"]))
        base = at.get((*_family(p), base_node, p["samples_requested"]))
        rate = base is not None and p["metric_unit"] in RATE_UNITS
        same = rate and base["metric_unit"] == p["metric_unit"]  # type: ignore[index]
        p["baseline_node"] = base_node if base else None
        p["relative_loadgen"] = (
            figures.relative(p["mean_metric"], base["mean_metric"]) if same else None  # type: ignore[index]
        )
        p["relative_wall"] = (
            figures.relative(p["wall_throughput"], base["wall_throughput"]) if base else None
        )
    return points


def _family(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (row["benchmark"], row["scenario"], row["mode"])
