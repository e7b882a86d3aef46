"""`mlconsole history` and `mlconsole compare`: their arguments, and their tables and JSON.

Every figure comes from `engine.analysis.history` (the runs and the regression check) and
`engine.analysis.compare`; this module only lays them out. Which results dirs are read when
none is given: the config's `settings.results_dir` (the config named by `--config`, else
./mlconsole.toml when there is one), else ./results. A path that is not a results dir is one
clear error and exit 2 (`UsageError`, turned into the message by `console.cli`).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from console.format import MISSING, fmt_num, state_label
from engine import units
from engine.errors import UsageError

REGRESSION_MARK = "▼ REGRESSION"


def add_history_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Every recorded run across days, grouped by node, benchmark, scenario and mode; a run "
        "whose figure (LoadGen metric, else wall throughput) falls more than the margin below "
        "its node's median of earlier runs is flagged as a regression."
    )
    p.add_argument(
        "results",
        nargs="*",
        metavar="RESULTS",
        help="results dirs (default: the config's results_dir, else ./results)",
    )
    _common(p)
    p.add_argument(
        "--margin",
        type=float,
        metavar="FRACTION",
        help="regression margin, 0.05 = 5 %% (default: settings.regression_margin)",
    )
    p.add_argument("--chart", metavar="PATH", help="also write the metric over time per node (PNG)")
    p.add_argument("--regressions", action="store_true", help="list the flagged runs only")


def add_compare_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Two runs side by side (run dirs, run ids or run dir names), or with --stage every "
        "node of a stage against the baseline node: LoadGen metric and wall throughput, "
        "differences and speedups."
    )
    p.add_argument("runs", nargs="*", metavar="RUN", help="RUN_A RUN_B")
    p.add_argument("--stage", metavar="NAME", help="compare the nodes of this stage instead")
    p.add_argument(
        "--results",
        action="append",
        metavar="DIR",
        help="results dir to look runs up in (repeatable; default as for history)",
    )
    p.add_argument(
        "--baseline",
        metavar="NODE",
        help="with --stage: the node others are "
        "compared with (default: settings.baseline_node, else the slowest)",
    )
    _common(p)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="CONFIG",
        help="the config whose results_dir and "
        "regression_margin to use (default: ./mlconsole.toml if present)",
    )
    p.add_argument("--json", action="store_true", help="print JSON for scripts")


def default_dirs(config_arg: str | None) -> tuple[list[str], float | None]:
    """The results dir (and margin) of the config, else ./results."""
    from engine.config.load import load_config

    path = config_arg or ("mlconsole.toml" if Path("mlconsole.toml").is_file() else None)
    if path is None:
        return ["results"], None
    if not Path(path).is_file():
        raise UsageError(f"--config {path}: no such config file")
    config = load_config(path)
    return [config.settings.results_dir], config.settings.regression_margin


def _checked_dirs(dirs: Sequence[str]) -> list[str]:
    from console.results_cli import warn_unreadable

    for d in dirs:
        if not Path(d).is_dir():
            hint = "" if Path(d).exists() else " (no such directory)"
            raise UsageError(f"{d}: not a results directory{hint}")
    for d in dirs:
        warn_unreadable(Path(d))
    return list(dirs)


# --- history -----------------------------------------------------------------------------------


def run_history(ns: argparse.Namespace) -> int:
    from engine.analysis.history import load_history

    if ns.margin is not None and not 0 <= ns.margin < 1:
        raise UsageError(f"--margin {ns.margin:g}: give a fraction from 0 to below 1 (0.05 = 5 %)")
    config_dirs, config_margin = (
        default_dirs(ns.config) if ns.config or not ns.results else ([], None)
    )
    dirs = ns.results or config_dirs
    if ns.margin is not None:
        margin, source = ns.margin, "--margin"
    else:
        margin, source = config_margin, "the config's settings.regression_margin"
    history = load_history(_checked_dirs(dirs), margin, source=source)
    chart = None
    if ns.chart:
        from engine.analysis.history_chart import write_history_chart

        chart = write_history_chart(history, Path(ns.chart))
    if ns.json:
        print(json.dumps(history_json(history, chart, ns.regressions), indent=2, default=str))
    else:
        print("\n".join(history_lines(history, ns.regressions)))
        if chart:
            print(f"chart: {chart}")
    return 0


def _groups(frame: Any) -> list[tuple[tuple[Any, ...], list[dict[str, Any]]]]:
    from engine.analysis.history import GROUP_KEYS

    out: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in frame.to_dicts():
        out.setdefault(tuple(row[k] for k in GROUP_KEYS), []).append(row)
    return list(out.items())


def history_json(history: Any, chart: Path | None, flagged_only: bool) -> dict[str, Any]:
    from engine.analysis.history import GROUP_KEYS

    frame = history.flagged if flagged_only else history.runs
    return {
        "results_dirs": [str(d) for d in history.dirs],
        "margin": history.margin,
        "margin_source": history.margin_source,
        "judged_by": "LoadGen metric, else wall throughput (each row's basis)",
        "plans": history.plans,
        "runs": frame.height,
        "regressions": history.flagged.height,
        "groups": [
            {**dict(zip(GROUP_KEYS, key, strict=True)), "runs": rows}
            for key, rows in _groups(frame)
        ],
        "chart": str(chart) if chart else None,
    }


_HEAD = (
    "start (UTC)",
    "run dir",
    "state",
    "LoadGen metric",
    "wall throughput",
    "judged by",
    "vs previous median",
)


def table(head: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Columns as wide as their widest cell, two spaces apart."""
    widths = [max(len(c) for c in col) for col in zip(head, *rows, strict=True)]
    return [
        indent + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
        for cells in (head, *rows)
    ]


def history_cells(r: Mapping[str, Any]) -> tuple[str, ...]:
    """A history row's cells after its grouping keys: what `history` prints and what the
    console's history screen shows, the same text."""
    if r["previous_runs"] is None:
        verdict = f"not judged: {r['not_judged'] or 'no figure'}"
    elif not r["previous_runs"]:
        verdict = "no earlier run"
    else:
        verdict = units.signed_percent(_pct(r["change"]))
        verdict += f" (median {fmt_num(r['previous_median'], r['unit'])} of {r['previous_runs']})"
        if r["regression"]:
            verdict += f" {REGRESSION_MARK}"
    return (
        r["start"] or MISSING,
        str(r["run_dir"]),
        state_label(r["state"]),
        fmt_num(r["metric_value"], r["metric_unit"] or ""),
        fmt_num(r["wall_throughput"], "samples/s"),
        r["basis"] or MISSING,
        verdict,
    )


def _pct(x: float | None) -> float | None:
    return None if x is None else x * 100


def history_header(history: Any) -> list[str]:
    """What was read and how runs are judged: the first lines of `history`, the screen's title."""
    where = ", ".join(str(d) for d in history.dirs)
    margin = units.num(history.margin * 100, 3)
    return [
        f"{_count(history.runs.height, 'recorded run')} in {where}, "
        f"{history.flagged.height} flagged as regressions",
        f"regression: the LoadGen metric (else the wall throughput) more than {margin}% worse "
        "than the median of the node's earlier runs of the same benchmark, scenario, mode and size "
        f"(margin: {history.margin_source})",
    ]


def history_lines(history: Any, flagged_only: bool = False) -> list[str]:
    frame = history.flagged if flagged_only else history.runs
    out = history_header(history)
    if frame.height == 0:
        out.append("no regression" if flagged_only and history.runs.height else "no runs")
        return out
    groups = _groups(frame)
    lines = table(_HEAD, [history_cells(r) for _, rows in groups for r in rows])
    head, body = lines[0], iter(lines[1:])
    for key, rows in groups:
        flagged = sum(1 for r in rows if r["regression"])
        out += [
            "",
            f"{' · '.join(str(k) for k in key)} — {_count(len(rows), 'run')}"
            + (f", {_count(flagged, 'regression')}" if flagged else ""),
        ]
        out += [head, *(next(body) for _ in rows)]
    return out


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# --- compare -----------------------------------------------------------------------------------


def run_compare(ns: argparse.Namespace) -> int:
    from engine.analysis.compare import compare_runs, compare_stage, find_run

    dirs = ns.results or default_dirs(ns.config)[0]
    if ns.stage:
        if ns.runs:
            raise UsageError("give two runs or --stage NAME, not both")
        result = compare_stage(_checked_dirs(dirs), ns.stage, ns.baseline)
        lines = stage_lines(result)
    else:
        if len(ns.runs) != 2:
            raise UsageError(f"compare takes two runs (RUN_A RUN_B), got {len(ns.runs)}")
        existing = [d for d in dirs if Path(d).is_dir()]
        result = compare_runs(find_run(ns.runs[0], existing), find_run(ns.runs[1], existing))
        lines = run_compare_lines(result)
    print(json.dumps(result.to_json(), indent=2, default=str) if ns.json else "\n".join(lines))
    return 0


def _delta_cells(d: Any) -> tuple[str, str, str, str]:
    unit = d.unit or ""
    if d.difference is None:
        return fmt_num(d.a, unit), fmt_num(d.b, unit), MISSING, d.note
    diff = f"{'+' if d.difference >= 0 else ''}{fmt_num(d.difference, unit)}"
    return fmt_num(d.a, unit), fmt_num(d.b, unit), diff, f"B/A {units.ratio(d.ratio)} {d.note}"


def run_compare_lines(c: Any) -> list[str]:
    def who(side: Mapping[str, Any]) -> str:
        return (
            f"{side['path']} — {side['node']}, {side['benchmark']} {side['scenario']} "
            f"{side['mode']}, {side['samples_requested']} samples, {state_label(side['state'])}, "
            f"{side['validity'] or 'validity ' + MISSING}"
        )

    metric = c.a["metric_name"] or c.b["metric_name"] or MISSING
    out = [f"A: {who(c.a)}", f"B: {who(c.b)}", ""]
    rows = [
        (label, *_delta_cells(d))
        for label, d in (
            (f"LoadGen metric ({metric})", c.loadgen),
            ("wall throughput (model load included)", c.wall),
        )
    ]
    out += table(("figure", "A", "B", "B - A", ""), rows)
    if c.differs:
        out += ["", f"note: the runs differ in {', '.join(c.differs)}"]
    return out


def stage_lines(s: Any) -> list[str]:
    plan = s.plan_id or "plan unknown: no plan line in the journal"
    what = "group shards" if s.shards else "runs"
    out = [f"stage {s.stage} ({plan}): {len(s.run_dirs)} {what}"]
    out += [
        f"baseline {n['baseline_node']} ({n['baseline_source']}) for "
        f"{n['benchmark']} {n['scenario']} {n['mode']}"
        for n in s.nodes
        if n["node"] == n["baseline_node"]
    ]
    head = (
        "node",
        "benchmark",
        "scenario, mode",
        "runs",
        "LoadGen metric (mean)",
        "vs baseline",
        "speedup",
        "wall throughput",
        "vs baseline",
        "speedup",
    )
    rows = [
        (
            *_where(n),
            str(n["runs"]),
            fmt_num(n["mean_metric"], n["metric_unit"] or ""),
            _signed(n["loadgen_vs_baseline"], n["metric_unit"] or ""),
            units.ratio(n["relative_loadgen"]),
            fmt_num(n["wall_throughput"], "samples/s"),
            _signed(n["wall_vs_baseline"], "samples/s"),
            units.ratio(n["relative_wall"]),
        )
        for n in s.nodes
    ]
    out += table(head, rows)
    if len({_where(p) for p in s.points}) < len(s.points):  # a sweep: several counts per node
        out += ["", "per sweep point (speedup over the baseline node's point of the same count):"]
        head = (
            "node",
            "benchmark",
            "scenario, mode",
            "samples",
            "runs",
            "LoadGen metric (mean)",
            "speedup",
            "wall throughput",
            "speedup",
        )
        rows = [
            (
                *_where(p),
                str(p["samples_requested"]),
                str(p["runs"]),
                fmt_num(p["mean_metric"], p["metric_unit"] or ""),
                units.ratio(p["relative_loadgen"]),
                fmt_num(p["wall_throughput"], "samples/s"),
                units.ratio(p["relative_wall"]),
            )
            for p in s.points
        ]
        out += table(head, rows)
    return out


def _where(row: Mapping[str, Any]) -> tuple[str, str, str]:
    return str(row["node"]), str(row["benchmark"]), f"{row['scenario']} {row['mode']}"


def _signed(x: float | None, unit: str) -> str:
    return MISSING if x is None else f"{'+' if x >= 0 else ''}{fmt_num(x, unit)}"
