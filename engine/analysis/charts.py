"""PNG charts drawn from `engine.analysis.frames.Results` frames and the runs' telemetry.csv files.

Only measured data is plotted: every bar, point and line comes from a frame cell (or a
telemetry sample); a missing figure is marked "missing" on the chart, never drawn as 0. Titles
say "simulated node speeds" when the runs were simulated.

Matplotlib runs headless (Agg) through the object API (`Figure` + `FigureCanvasAgg`), not
pyplot: no global state, so reports can be rebuilt from a worker thread while the console runs.
Figure sizes and dpi are fixed so the PNGs are small, quick to write and byte-identical when the
results are unchanged.

The figures draw from `ChartData`: the frames' rows as plain lists, taken once from `Results`.
Plain rows pickle small and need no polars, so `mlconsole report` can send them to a process
that only imports matplotlib (`engine.analysis.chart_process`). Every figure function takes
either (`Results` is turned into `ChartData` first).

Past the ~450-line guide: the five figures share one look (figure size, dpi, node colours, the
"missing" note, the simulated-speeds suffix, the paired-bars panel) and one input, `ChartData`;
apart, each would import those helpers back. Each figure is one function of 30 to 50 lines;
the worker that draws them in other processes is `engine.analysis.chart_process`, the live
terminal charts are the console's.
"""

from __future__ import annotations

import csv
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.model import GpuSample
from engine.results.store import TELEMETRY

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from engine.analysis.frames import Results

DPI = 100
PERFORMANCE = "performance_analysis.png"
SCALING = "scaling_analysis.png"
COMPARISON = "throughput_comparison.png"
GPU_UTILIZATION = "gpu_utilization.png"
WALL_LABEL = "wall throughput (samples/s, includes model load)"
# Enough lines to compare runs; more would be an unreadable tangle. The title says so.
MAX_TELEMETRY_RUNS = 16
MAX_GROUPS = 12
_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")


# The runs frame's columns the charts read.
_RUN_COLUMNS = (
    "node", "ok", "duration_s", "samples_requested", "samples_processed", "samples_mismatch",
    "telemetry_state",
)  # fmt: skip


@dataclass(frozen=True)
class ChartData:
    """What the charts read from `Results`, as plain rows (see the module's docstring).

    `runs`: the runs frame's `_RUN_COLUMNS`; `nodes`, `sweeps`, `fleets`: those frames' rows;
    `groups`: the groups frame's rows, oldest first; `telemetry_runs`: (node, run dir) of every
    run, in `Results.run_records`' order (their telemetry.csv files are read when drawn), but
    those whose summary counts no telemetry sample: their file holds none (the count is of
    the samples written to it), and reading 1,000 such files costs more than the chart."""

    simulated: bool
    runs: list[dict[str, Any]]
    nodes: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    sweeps: list[dict[str, Any]]
    fleets: list[dict[str, Any]]
    telemetry_runs: list[tuple[str, Path]]

    @classmethod
    def of(cls, results: Results | ChartData) -> ChartData:
        if isinstance(results, ChartData):
            return results
        return cls(
            simulated=results.simulated,
            runs=results.runs.select(*_RUN_COLUMNS).to_dicts(),
            nodes=results.nodes.to_dicts(),
            groups=results.groups.sort("start_unix", nulls_last=False).to_dicts(),
            sweeps=results.sweeps.to_dicts(),
            fleets=results.fleets.to_dicts() if results.fleets is not None else [],
            telemetry_runs=[
                (str(r.summary.node), r.run_dir)
                for r in results.run_records
                if r.summary.telemetry.samples != 0  # None: not counted (0.1.0), so read it
            ],
        )


def warm_up() -> None:
    """Import matplotlib's Agg backend and make one Figure, so the first real chart does not
    pay for them (the orchestrator calls this in a thread while a plan's first runs go)."""
    _figure(1, 1)


def _figure(width: float, height: float) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    """Atomic: a viewer never sees half a PNG."""
    # Unique per writer: the console's export key and the end of a plan may rebuild at once.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fig.savefig(tmp, dpi=DPI, format="png", metadata={"Software": None})
    os.replace(tmp, path)
    return path


def _side_by_side(
    left_title: str, right_title: str, *, empty: str | None
) -> tuple[Figure, Axes, Axes]:
    """A 12 x 5 in figure of two panels, titled; `empty` is the note both show when there is
    nothing to draw (None: there is)."""
    fig = _figure(12, 5)
    left, right = fig.subplots(1, 2)
    left.set_title(left_title)
    right.set_title(right_title)
    if empty is not None:
        _note(left, empty)
        _note(right, empty)
    return fig, left, right


def _note(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def _suffix(results: ChartData) -> str:
    return " (simulated node speeds)" if results.simulated else ""


def _colors(nodes: Sequence[str | None]) -> dict[str | None, str]:
    names = sorted({n for n in nodes if n is not None})
    return {n: _COLORS[i % len(_COLORS)] for i, n in enumerate(names)}


def _node_labels(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Node names, plus benchmark/scenario when the results hold more than one."""
    families = {(r["benchmark"], r["scenario"], r["mode"]) for r in rows}
    if len(families) <= 1:
        return [str(r["node"]) for r in rows]
    return [f"{r['node']}\n{r['benchmark']}/{r['scenario']}/{r['mode']}" for r in rows]


def _paired_bars(
    ax: Axes,
    labels: list[str],
    ylabel: str,
    rows: list[dict[str, Any]],
    *pair: tuple[str, str],
) -> None:
    """Two bars a slot, side by side: a row's two columns (each named in the legend), one
    slot a row, named by `labels`. The projection panel and both scaling panels."""
    x = list(range(len(rows)))
    for offset, (column, label) in zip((-0.2, 0.2), pair, strict=True):
        _bars(ax, [i + offset for i in x], [r[column] for r in rows], 0.4, label=label)
    ax.set_xticks(x, labels, fontsize=8)
    ax.margins(y=0.25)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)


def _bars(
    ax: Axes, x: Sequence[float], values: Sequence[float | None], width: float, **kw: Any
) -> None:
    """Bars for the known values; a missing value is written as 'missing' at its slot."""
    xs = [xi for xi, v in zip(x, values, strict=True) if v is not None]
    vs = [v for v in values if v is not None]
    if xs:
        ax.bar(xs, vs, width, **kw)
    for xi, v in zip(x, values, strict=True):
        if v is None:
            ax.text(xi, 0, "missing", ha="center", va="bottom", rotation=90, fontsize=7)


# --- performance_analysis.png ------------------------------------------------------------------


def _throughput_panel(ax: Axes, rows: list[dict[str, Any]], labels: list[str]) -> None:
    ax.set_title("Throughput per node (mean over completed single runs)")
    if not rows:
        _note(ax, "no completed single-node run recorded")
        return
    x = list(range(len(rows)))
    _bars(ax, [i - 0.2 for i in x], [r["wall_throughput"] for r in rows], 0.4, label=WALL_LABEL)
    units = {r["metric_unit"] for r in rows if r["mean_metric"] is not None}
    rate_values = [
        r["mean_metric"] if r["metric_unit"] in ("samples/s", "tokens/s", "queries/s") else None
        for r in rows
    ]
    if units == {"samples/s"}:
        _bars(ax, [i + 0.2 for i in x], rate_values, 0.4, label="LoadGen metric (samples/s)")
        ax.set_ylabel("samples/s")
    elif units:
        # Another unit (tokens/s, a latency) does not share the wall throughput's axis.
        twin = ax.twinx()
        unit = " / ".join(sorted(u for u in units if u))
        values = [r["mean_metric"] for r in rows]
        _bars(twin, [i + 0.2 for i in x], values, 0.4, color="#dd8452")
        twin.set_ylabel(f"LoadGen metric ({unit})")
        ax.bar([], [], color="#dd8452", label=f"LoadGen metric ({unit}, right axis)")
        ax.set_ylabel("wall throughput (samples/s)")
    ax.set_xticks(x, labels, fontsize=8)
    ax.margins(y=0.25)  # room for the legend above the tallest bar
    ax.legend(fontsize=7, loc="upper left")


def _duration_panel(ax: Axes, runs: list[dict[str, Any]], colors: dict[Any, str]) -> None:
    ax.set_title("Duration per run (wall, launch to exit)")
    measured = [r for r in runs if r["duration_s"] is not None]
    if not measured:
        _note(ax, "no run duration recorded")
        return
    for node in sorted({str(r["node"]) for r in measured}):
        mine = [r for r in measured if str(r["node"]) == node]
        for ok, marker in ((True, "o"), (False, "x")):
            pts = [r for r in mine if bool(r["ok"]) is ok and r["samples_requested"] is not None]
            if pts:
                ax.scatter(
                    [r["samples_requested"] for r in pts],
                    [r["duration_s"] for r in pts],
                    marker=marker,
                    color=colors.get(node),
                    label=node if ok else f"{node} (not completed)",
                )
    ax.set_xlabel("samples requested")
    ax.set_ylabel("duration (s)")
    ax.legend(fontsize=7)


def _samples_panel(ax: Axes, runs: list[dict[str, Any]], colors: dict[Any, str]) -> None:
    ax.set_title("Samples LoadGen processed vs samples requested")
    measured = [
        r for r in runs if r["samples_processed"] is not None and r["samples_requested"] is not None
    ]
    if not measured:
        _note(ax, "no run with both sample counts recorded")
        return
    for node in sorted({str(r["node"]) for r in measured}):
        mine = [r for r in measured if str(r["node"]) == node]
        ax.scatter(
            [r["samples_requested"] for r in mine],
            [r["samples_processed"] for r in mine],
            color=colors.get(node),
            alpha=0.7,
            label=node,
        )
    lo = min(min(r["samples_requested"], r["samples_processed"]) for r in measured)
    hi = max(max(r["samples_requested"], r["samples_processed"]) for r in measured)
    ax.plot([lo, hi], [lo, hi], linestyle=":", color="grey", label="processed = requested")
    mismatches = sum(1 for r in measured if r["samples_mismatch"])
    if mismatches:
        ax.text(
            0.02, 0.95, f"{mismatches} run(s) processed fewer/more than requested",
            transform=ax.transAxes, va="top", fontsize=8, color="#c44e52",
        )  # fmt: skip
    ax.set_xlabel("samples requested")
    ax.set_ylabel("samples processed (LoadGen)")
    ax.legend(fontsize=7, loc="lower right")


def _projection_panel(ax: Axes, rows: list[dict[str, Any]], labels: list[str]) -> None:
    ax.set_title("Full-dataset projection: dataset size / throughput (hours)")
    if not rows:
        _note(ax, "no completed single-node run recorded")
        return
    _paired_bars(ax, labels, "hours", rows,
                 ("projection_h_wall", "using wall throughput"),
                 ("projection_h_loadgen", "using LoadGen metric (samples/s only)"))  # fmt: skip


def performance_figure(results: Results | ChartData) -> Figure:
    results = ChartData.of(results)
    nodes, runs = results.nodes, results.runs
    colors = _colors([r["node"] for r in runs])
    labels = _node_labels(nodes)
    fig = _figure(12, 9)
    axes = fig.subplots(2, 2)
    _throughput_panel(axes[0][0], nodes, labels)
    _duration_panel(axes[0][1], runs, colors)
    _samples_panel(axes[1][0], runs, colors)
    _projection_panel(axes[1][1], nodes, labels)
    fig.suptitle(f"Performance analysis: {len(runs)} recorded runs{_suffix(results)}")
    # Fixed margins: tight_layout measures every text and costs more than the drawing.
    fig.subplots_adjust(left=0.07, right=0.93, top=0.92, bottom=0.08, hspace=0.35, wspace=0.25)
    return fig


# --- scaling_analysis.png ----------------------------------------------------------------------


def scaling_figure(results: Results | ChartData) -> Figure:
    results = ChartData.of(results)
    recorded = results.groups
    groups = recorded[-MAX_GROUPS:]
    fig, left, right = _side_by_side(
        "Group throughput: measured vs ideal (sum of single-node runs)",
        "Scaling efficiency and speedup over sequential",
        empty=None if groups else "no parallel group recorded",
    )
    if groups:
        labels = [f"{g['name']}\n({g['split']} split)" for g in groups]
        _paired_bars(left, labels, "samples/s", groups,
                     ("combined_throughput", "measured combined (processed / makespan)"),
                     ("ideal_throughput", "ideal: sum of single-run wall throughputs"))  # fmt: skip
        right.axhline(1.0, linestyle=":", color="grey")
        _paired_bars(right, labels, "ratio", groups,
                     ("scaling_efficiency", "scaling efficiency (combined / ideal)"),
                     ("speedup", "speedup (sum of shard durations / makespan)"))  # fmt: skip
    shown = f", newest {len(groups)} shown" if len(groups) < len(recorded) else ""
    fig.suptitle(f"Parallel groups: {len(recorded)} recorded{shown}{_suffix(results)}")
    fig.subplots_adjust(left=0.07, right=0.97, top=0.85, bottom=0.15, wspace=0.25)
    return fig


# --- throughput_comparison.png -----------------------------------------------------------------


def comparison_figure(results: Results | ChartData) -> Figure:
    results = ChartData.of(results)
    sweeps = results.sweeps
    fig, left, right = _side_by_side(
        "Wall throughput by samples requested (includes model load)",
        "LoadGen metric by samples requested",
        empty=None if sweeps else "no completed single-node run recorded",
    )
    if sweeps:
        colors = _colors([r["node"] for r in sweeps])
        series: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for r in sweeps:
            series.setdefault((r["node"], r["benchmark"], r["scenario"], r["mode"]), []).append(r)
        many = len({k[1:] for k in series}) > 1
        units = set()
        for key, pts in series.items():
            name = f"{key[0]} {key[1]}/{key[2]}" if many else str(key[0])
            walls = [p for p in pts if p["wall_throughput"] is not None]
            if walls:
                left.plot([p["samples_requested"] for p in walls],
                          [p["wall_throughput"] for p in walls],
                          marker="o", color=colors.get(key[0]), label=name)  # fmt: skip
            metrics = [p for p in pts if p["mean_metric"] is not None]
            if metrics:
                unit = metrics[0]["metric_unit"]
                units.add(unit)
                right.plot([p["samples_requested"] for p in metrics],
                           [p["mean_metric"] for p in metrics], marker="s", linestyle="--",
                           color=colors.get(key[0]), label=f"{name} ({unit})")  # fmt: skip
        left.set_xlabel("samples requested")
        left.set_ylabel("samples/s")
        left.legend(fontsize=7)
        right.set_xlabel("samples requested")
        right.set_ylabel(" / ".join(sorted(u for u in units if u)) or "no LoadGen metric")
        if units:
            right.legend(fontsize=7)
        else:
            _note(right, "no LoadGen metric recorded")
    fig.suptitle(f"Throughput comparison per node{_suffix(results)}")
    fig.subplots_adjust(left=0.07, right=0.97, top=0.85, bottom=0.12, wspace=0.25)
    return fig


# --- gpu_utilization.png -----------------------------------------------------------------------


def read_samples(path: Path) -> list[GpuSample]:
    """A run's telemetry.csv through the telemetry recorder's own reader; unreadable is []."""
    from engine.telemetry.record import read_telemetry

    try:
        return list(read_telemetry(path))
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def telemetry_series(results: Results | ChartData) -> list[tuple[str, str, list[GpuSample]]]:
    """(node, run_dir, samples) for the newest runs whose telemetry.csv holds samples."""
    found = []
    for node, run_dir in reversed(ChartData.of(results).telemetry_runs):
        path = run_dir / TELEMETRY
        if not path.is_file():
            continue
        samples = [s for s in read_samples(path) if s.utilization_pct is not None]
        if samples:
            found.append((node, run_dir.name, samples))
        if len(found) >= MAX_TELEMETRY_RUNS:
            break
    return list(reversed(found))


def gpu_figure(results: Results | ChartData) -> Figure:
    results = ChartData.of(results)
    series = telemetry_series(results)
    fig = _figure(12, 5)
    ax = fig.subplots()
    if not series:
        states = sorted({str(r["telemetry_state"]) for r in results.runs if r["telemetry_state"]})
        why = f" (runs say: {', '.join(states)})" if states else ""
        _note(ax, f"no GPU telemetry recorded{why}")
        ax.set_title(f"GPU utilization{_suffix(results)}")
    else:
        colors = _colors([node for node, _, _ in series])
        for node, run_dir, samples in series:
            t0 = min(s.ts for s in samples)
            for gpu in sorted({s.gpu for s in samples}):
                mine = [s for s in samples if s.gpu == gpu]
                ax.plot([s.ts - t0 for s in mine], [s.utilization_pct for s in mine],
                        color=colors.get(node), label=f"{node} gpu{gpu} {run_dir}")  # fmt: skip
        ax.set_xlabel("seconds since the run's first sample")
        ax.set_ylabel("GPU utilization (%)")
        ax.set_ylim(0, 105)
        ax.legend(fontsize=6, loc="lower right")
        capped = f", newest {MAX_TELEMETRY_RUNS} runs" if len(series) >= MAX_TELEMETRY_RUNS else ""
        ax.set_title(f"GPU utilization over time per run{capped}{_suffix(results)}")
    fig.subplots_adjust(left=0.07, right=0.97, top=0.9, bottom=0.12)
    return fig


CHARTS = (
    (PERFORMANCE, performance_figure),
    (SCALING, scaling_figure),
    (COMPARISON, comparison_figure),
    (GPU_UTILIZATION, gpu_figure),
)


# --- throughput_interactivity.png --------------------------------------------------------------

INTERACTIVITY = "throughput_interactivity.png"


def _sweep_points(results: Results | ChartData) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for f in ChartData.of(results).fleets:
        if f["sweep"] and f["system_tokens_per_s"] is not None and f["tokens_per_user"]:
            out.setdefault(f"{f['stage']} ({', '.join(f['nodes'])})", []).append(f)
    return out


def interactivity_figure(results: Results | ChartData) -> Figure:
    """System tokens/s (LoadGen) against tokens/s per user (1 / TPOT p90), one point per
    concurrency limit, each labelled with its limit and TTFT p90, as MLPerf Endpoints plots
    its Pareto curve."""
    results = ChartData.of(results)
    fig = _figure(8, 5)
    ax = fig.add_subplot(1, 1, 1)
    sweeps = _sweep_points(results)
    if not sweeps:
        _note(ax, "no concurrency sweep with token metrics recorded")
        return fig
    for i, (name, points) in enumerate(sorted(sweeps.items())):
        points.sort(key=lambda p: p["tokens_per_user"])
        xs = [p["tokens_per_user"] for p in points]
        ys = [p["system_tokens_per_s"] for p in points]
        color = _COLORS[i % len(_COLORS)]
        ax.plot(xs, ys, marker="o", color=color, label=name)
        for p in points:
            ttft = p["ttft_p90_s"]
            note = f"c={p['concurrency']}" + (f", TTFT p90 {ttft * 1000:.0f} ms" if ttft else "")
            ax.annotate(
                note,
                (p["tokens_per_user"], p["system_tokens_per_s"]),
                fontsize=7,
                xytext=(4, 4),
                textcoords="offset points",
            )
    ax.set_xlabel("tokens/s per user (1 / TPOT p90, client)")
    ax.set_ylabel("system tokens/s (LoadGen)")
    ax.set_title("Throughput vs interactivity" + _suffix(results))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def write_charts(
    results: Results | ChartData, out_dir: Path, part: int = 0, parts: int = 1
) -> list[Path]:
    """Write the four PNGs into `out_dir` (created if needed) and return their paths, plus
    throughput_interactivity.png when a concurrency sweep was recorded.

    gpu_utilization.png says "no GPU telemetry recorded" when no run has telemetry samples.
    `part` of `parts`: only every `parts`-th of those charts, from the `part`-th, so that
    processes can share the drawing (`engine.analysis.chart_process`)."""
    results = ChartData.of(results)
    out_dir.mkdir(parents=True, exist_ok=True)
    todo = [*CHARTS, *([(INTERACTIVITY, interactivity_figure)] if _sweep_points(results) else [])]
    return [
        _save(build(results), out_dir / name)
        for i, (name, build) in enumerate(todo)
        if i % parts == part
    ]
