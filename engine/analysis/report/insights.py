"""The pipeline report's insights: sentences computed from the frames, each naming its runs.

Nothing here is a canned claim: a sentence is written only when the figures it states exist,
and it states them (with the run dirs they come from).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine import figures
from engine.analysis.report.format import MISSING, names, num, ratio, reasons

Row = dict[str, Any]


@dataclass(frozen=True)
class Rows:
    """The `Results` frames as lists of row dicts (what the markdown is written from)."""

    runs: list[Row]
    nodes: list[Row]
    groups: list[Row]
    shards: list[Row]
    sweeps: list[Row]


def family(r: Mapping[str, Any]) -> str:
    return f"{r['benchmark']} / {r['scenario']} / {r['mode']}"


def families(nodes: Sequence[Row]) -> list[list[Row]]:
    """`nodes` rows grouped by benchmark/scenario/mode (the rows that compare)."""
    fams: dict[tuple[Any, ...], list[Row]] = {}
    for n in nodes:
        fams.setdefault((n["benchmark"], n["scenario"], n["mode"]), []).append(n)
    return list(fams.values())


def insight_lines(rows: Rows) -> list[str]:
    return [
        *node_comparisons(rows.nodes),
        *wall_shares(rows.nodes),
        *sweep_trends(rows.sweeps),
        *run_flags(rows.runs),
        *group_lines(rows.groups, rows.shards),
        *telemetry_lines(rows.runs),
    ]


def node_comparisons(nodes: Sequence[Row]) -> list[str]:
    """'fast is 2.10x slow by wall throughput (... runs ...)', per benchmark family."""
    out = []
    for fam in families(nodes):
        base = next((n for n in fam if n["node"] == n["baseline_node"]), None)
        for n in fam:
            if base is None or n is base or n["relative_wall"] is None:
                continue
            text = (
                f"{n['node']} is {ratio(n['relative_wall'])} {base['node']} by wall "
                f"throughput on {family(n)} ({num(n['wall_throughput'])} vs "
                f"{num(base['wall_throughput'])} samples/s; runs {names(n['wall_runs'], 3)} "
                f"vs {names(base['wall_runs'], 3)})"
            )
            if n["relative_loadgen"] is not None:
                text += (
                    f" and {ratio(n['relative_loadgen'])} by LoadGen metric "
                    f"({num(n['mean_metric'])} vs {num(base['mean_metric'])} "
                    f"{n['metric_unit']})"
                )
            out.append(text + ".")
    return out


def wall_shares(nodes: Sequence[Row]) -> list[str]:
    """How much of LoadGen's rate survives in the wall throughput (samples/s metrics only)."""
    out = []
    for n in nodes:
        share = (
            figures.relative(n["wall_throughput"], n["mean_metric"])
            if n["metric_unit"] == "samples/s"
            else None
        )
        if share is not None:
            out.append(
                f"{n['node']} ({family(n)}): wall throughput is {num(100 * share, 3)}% of "
                f"LoadGen's metric ({num(n['wall_throughput'])} vs {num(n['mean_metric'])} "
                "samples/s): wall time runs from launch to exit (start-up and model load "
                "included), LoadGen's timer only over its own test."
            )
    return out


def sweep_trends(sweeps: Sequence[Row]) -> list[str]:
    series: dict[tuple[Any, ...], list[Row]] = {}
    for s in sweeps:
        series.setdefault((s["node"], s["benchmark"], s["scenario"], s["mode"]), []).append(s)
    out = []
    for (node, *_), pts in series.items():
        pts = [p for p in pts if p["wall_throughput"] is not None]
        if len(pts) < 2:
            continue
        first, last = pts[0], pts[-1]
        out.append(
            f"{node}: wall throughput {num(first['wall_throughput'])} → "
            f"{num(last['wall_throughput'])} samples/s from {num(first['samples_requested'])} "
            f"to {num(last['samples_requested'])} samples requested (runs "
            f"{names(first['run_dirs'], 2)}; {names(last['run_dirs'], 2)})."
        )
    return out


def run_flags(runs: Sequence[Row]) -> list[str]:
    """INVALID runs with LoadGen's reasons, sample mismatches, runs that did not complete."""
    out = []
    for r in runs:
        if r["validity"] == "INVALID":
            why = reasons(r["validity_reasons"]) or "LoadGen gave no reason"
            out.append(f"`{r['run_dir']}` is **INVALID**: {why}.")
        if r["samples_mismatch"]:
            out.append(
                f"`{r['run_dir']}`: LoadGen processed {num(r['samples_processed'])} of "
                f"{num(r['samples_requested'])} requested samples; its per-sample figures "
                "use the processed count."
            )
        if not r["ok"]:
            detail = f": {r['exit_detail']}" if r["exit_detail"] else ""
            out.append(f"`{r['run_dir']}` did not complete ({r['state']}){detail}.")
    return out


def group_lines(groups: Sequence[Row], shards: Sequence[Row]) -> list[str]:
    """Each group's efficiency, and how long each shard waited for the group's last one."""
    out = []
    for g in groups:
        if g["scaling_efficiency"] is not None:
            out.append(
                f"Group {g['name']} ({g['split']} split): combined "
                f"{num(g['combined_throughput'])} samples/s vs ideal "
                f"{num(g['ideal_throughput'])} samples/s, scaling efficiency "
                f"{num(g['scaling_efficiency'], 3)} (`{g['group_dir']}`)."
            )
        if g["end_unix"] is None:
            continue
        for s in shards:
            if s["group_dir"] != g["group_dir"] or s["end_unix"] is None:
                continue
            idle = g["end_unix"] - s["end_unix"]
            if idle > 0:
                out.append(
                    f"Group {g['name']}: {s['node']}'s shard (`{s['run_dir']}`, "
                    f"{num(s['samples_requested'])} samples) ended {num(idle)} s before the "
                    "group's last shard."
                )
    return out


def telemetry_lines(runs: Sequence[Row]) -> list[str]:
    if not runs:
        return []
    with_util = [r for r in runs if r["util_mean"] is not None]
    if not with_util:
        states = sorted({str(r["telemetry_state"]) for r in runs if r["telemetry_state"]})
        return [
            "No GPU telemetry was recorded"
            + (f" (the summaries say: {', '.join(states)})" if states else "")
            + "; GPU utilization is unknown."
        ]
    out = []
    for node in sorted({str(r["node"]) for r in with_util}):
        mine = [r for r in with_util if str(r["node"]) == node]
        mean = sum(r["util_mean"] for r in mine) / len(mine)
        top = max((r["util_max"] for r in mine if r["util_max"] is not None), default=None)
        out.append(
            f"{node}: GPU utilization mean {num(mean, 3)}% (max "
            f"{num(top, 3) if top is not None else MISSING}%) over {len(mine)} run(s) with "
            f"telemetry ({names((r['run_dir'] for r in mine), 3)})."
        )
    return out
