"""`reports/mlconsole_pipeline_report.md`: the seed pipeline report's sections, rebuilt from
recorded results alone.

Every number comes from an `engine.analysis.frames.Results` frame and names the run dir (or
group dir) it comes from; insights are sentences computed from those numbers, never canned claims. A
missing figure is "—" with the reason. The text holds no clock time, so rebuilding unchanged
results gives an identical file.

Why one module of about 490 lines: it is one document, its sections in the order they are
read, each a method over the same frames, links and missing-figure rules. What stands on its
own is already apart: the insights, the fleet and QPS-search sections, the history section
and the number formats (`engine.analysis.report.*`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.analysis.frames import Results
from engine.analysis.history import History
from engine.analysis.history_chart import HISTORY
from engine.analysis.report.format import (
    MISSING,
    exact,
    missing,
    names,
    num,
    projection,
    ratio,
    seconds,
    table,
)
from engine.analysis.report.history import history_section, regression_note
from engine.analysis.report.insights import Rows, families, family, insight_lines
from engine.analysis.report.run import (
    metric_text,
    report_name,
    samples_text,
    validity_text,
    wall_text,
)
from engine.results.schema import GROUP_SUMMARY_FILE, RUN_SUMMARY_FILE

PIPELINE_REPORT = "mlconsole_pipeline_report.md"
PROJECTION_FORMULA = "hours = dataset size / throughput / 3600"


def _rel(path: Path, start: Path) -> str:
    try:
        return os.path.relpath(path, start)
    except ValueError:  # another drive (Windows)
        return str(path)


class PipelineReport:
    """Renders the report from one `Results`; one method per section."""

    def __init__(
        self,
        results: Results,
        reports_dir: Path,
        charts: Sequence[Path],
        history: History | None = None,
    ) -> None:
        self.r = results
        self.history = history
        self.reports_dir = reports_dir
        self.charts = list(charts)
        self.rows = Rows(
            runs=results.runs.to_dicts(),
            nodes=results.nodes.to_dicts(),
            groups=results.groups.to_dicts(),
            shards=results.shards.to_dicts(),
            sweeps=results.sweeps.to_dicts(),
        )
        self.runs, self.nodes, self.groups = self.rows.runs, self.rows.nodes, self.rows.groups
        self.shards = self.rows.shards
        # Every path the report writes is relative to the report's own folder, so a results
        # folder moved together with its reports still links (and no machine path is written).
        self.results_dir = Path(_rel(Path(os.path.abspath(results.results_dir)), reports_dir))

    def render(self) -> str:
        parts = [
            self.header(),
            self.executive_summary(),
            self.single_node(),
            *([self.history_section()] if self.history is not None else []),
            self.distributed(),
            self.insights(),
            self.projections(),
            self.artifacts(),
        ]
        return "\n\n".join("\n".join(p) for p in parts) + "\n"

    # --- sections ------------------------------------------------------------------------------

    def header(self) -> list[str]:
        out = [
            "# mlconsole pipeline report",
            "",
            f"Built from {len(self.runs)} `{RUN_SUMMARY_FILE}` and {len(self.groups)} "
            f"`{GROUP_SUMMARY_FILE}` files under [`{self.results_dir}`]({self.results_dir}) "
            "(paths here are relative to this report's folder). Every figure names the run "
            "dir (or group dir) under that folder it comes from. Rebuild with "
            f"`mlconsole report {self.results_dir} --reports-dir .` from this folder.",
            "",
            "Two throughputs, always named: the **LoadGen metric** is LoadGen's own result (the "
            "MLPerf number); **wall throughput** is samples LoadGen processed / wall time from "
            "launch to exit, model load included (for planning only).",
        ]
        if self.r.simulated:
            out += [
                "",
                "> **Simulated node speeds.** These results come from the bundled demo harness: "
                "real LoadGen, simulated GPU service times. They measure the simulated nodes, "
                "not hardware.",
            ]
        return out

    def executive_summary(self) -> list[str]:
        out = ["## Executive summary", ""]
        if not self.runs:
            return [*out, f"No run summary found under `{self.results_dir}`."]
        nodes = sorted({str(r["node"]) for r in self.runs if r["kind"] != "fleet"})
        fleet_nodes = sorted(
            {
                n
                for f in (self.r.fleets.to_dicts() if self.r.fleets is not None else ())
                for n in f["nodes"]
            }
        )
        nodes = sorted(set(nodes) | set(fleet_nodes))
        ok = [r for r in self.runs if r["ok"]]
        cancelled = [r for r in self.runs if r["state"] == "cancelled"]
        failed = [r for r in self.runs if not r["ok"] and r["state"] != "cancelled"]
        out.append(
            f"- {len(self.runs)} runs on {len(nodes)} node(s) ({', '.join(nodes)}): "
            f"{len(ok)} completed, {len(failed)} failed, {len(cancelled)} cancelled."
            + (f" Failed: {names(r['run_dir'] for r in failed)}." if failed else "")
        )
        valid = [r for r in self.runs if r["validity"] == "VALID"]
        invalid = [r for r in self.runs if r["validity"] == "INVALID"]
        unknown = [r for r in self.runs if r["validity"] not in ("VALID", "INVALID")]
        text = f"- LoadGen validity: {len(valid)} VALID, {len(invalid)} **INVALID**"
        text += f", {len(unknown)} without a verdict."
        if invalid:
            text += f" INVALID: {names(r['run_dir'] for r in invalid)}."
        out.append(text)
        short = [r for r in self.runs if r["samples_mismatch"]]
        if short:
            out.append(
                f"- {len(short)} run(s) processed a different number of samples than requested: "
                + "; ".join(
                    f"`{r['run_dir']}` {num(r['samples_processed'])} of "
                    f"{num(r['samples_requested'])}"
                    for r in short[:6]
                )
                + ("; …" if len(short) > 6 else "")
                + "."
            )
        for fam in families(self.nodes):
            measured = [n for n in fam if n["wall_throughput"] is not None]
            if len(measured) < 2:
                continue
            top = max(measured, key=lambda n: (n["wall_throughput"], str(n["node"])))
            out.append(
                f"- {family(top)}: fastest node by wall throughput is {top['node']}, "
                f"{ratio(top['relative_wall'])} the baseline {top['baseline_node']} "
                f"({top['baseline_source']})."
            )
        fleets = self.r.fleets.to_dicts() if self.r.fleets is not None else []
        for f in fleets:
            token = (
                f"{num(f['token_metric_value'])} {f['token_metric_unit']}"
                if f["token_metric_value"] is not None
                else "no token metric"
            )
            out.append(
                f"- Fleet run {f['run_id']} over {', '.join(f['nodes'])} (`{f['run_dir']}`): "
                f"one LoadGen result, {f['validity'] or 'no verdict'}, {token}."
            )
        for g in self.groups:
            out.append(
                f"- Group {g['name']} ({len(g['nodes'])} separate LoadGen runs: a planning "
                f"figure, not an MLPerf result; {g['split']} split, `{g['group_dir']}`): scaling "
                f"efficiency {self._or_missing(num(g['scaling_efficiency'], 3), g, 'eff')}, "
                f"speedup over sequential {ratio(g['speedup'])}."
            )
        return out

    def single_node(self) -> list[str]:
        out = ["## Single-node results", ""]
        if self.nodes:
            out += [
                "Per node over its completed single runs (group shards excluded). LoadGen "
                "metric: mean (best) over the runs; wall throughput: processed samples summed / "
                "durations summed. Relative: wall throughput / the baseline node's.",
                "",
            ]
            rows = []
            for n in self.nodes:
                unit = n["metric_unit"] or ""
                metric = (
                    f"{num(n['mean_metric'])} {unit} ({num(n['best_metric'])})"
                    if n["mean_metric"] is not None
                    else missing("no run recorded a LoadGen metric")
                )
                wall = (
                    f"{num(n['wall_throughput'])} samples/s = "
                    f"{num(n['samples_processed_sum'])} / {num(n['duration_s_sum'])} s"
                    if n["wall_throughput"] is not None
                    else missing("no run with both processed samples and duration")
                )
                rows.append(
                    [
                        n["node"],
                        family(n),
                        n["runs"],
                        f"{n['metric_name'] or ''}: {metric}".lstrip(": "),
                        wall,
                        f"{ratio(n['relative_wall'])} vs {n['baseline_node'] or MISSING}",
                        names(n["invalid_runs"]) if n["invalid_runs"] else "none",
                        names(n["run_dirs"]),
                    ]
                )
            out += table(
                [
                    "Node",
                    "Benchmark / scenario / mode",
                    "Runs",
                    "LoadGen metric, mean (best)",
                    "Wall throughput (includes model load)",
                    "Relative (wall)",
                    "INVALID runs",
                    "Run dirs",
                ],
                rows,
            )
            bases = sorted(
                {
                    (n["baseline_node"], n["baseline_source"])
                    for n in self.nodes
                    if n["baseline_node"]
                }
            )
            out += [""] + [f"Baseline: {b} ({src})." for b, src in bases]
        else:
            out.append("No completed single-node run recorded.")
        out += ["", "### All runs", ""]
        if not self.runs:
            return [*out, "None."]
        rows = [
            [
                self._run_link(r),
                r["run_id"],
                r["node"],
                r["group_id"] or "",
                samples_text(r),
                seconds(r["duration_s"]),
                metric_text(r),
                wall_text(r),
                validity_text(r),
                (r["state"] or MISSING) + regression_note(self.history, r["path"]),
            ]
            for r in self.runs
        ]
        return out + table(
            [
                "Run dir",
                "Run id",
                "Node",
                "Group",
                "Samples",
                "Duration",
                "LoadGen metric",
                "Wall throughput",
                "Validity",
                "State",
            ],
            rows,
        )

    def distributed(self) -> list[str]:
        from engine.analysis.report.fleet import SEPARATE_RUNS, fleet_sections

        fleets = self.r.fleets.to_dicts() if self.r.fleets is not None else []
        endpoints = self.r.fleet_endpoints.to_dicts() if self.r.fleet_endpoints is not None else []
        out = ["## Distributed results", "", *fleet_sections(fleets, endpoints), ""]
        out += [f"### Parallel groups: {SEPARATE_RUNS}", ""]
        if not self.groups:
            return [*out, "No parallel group recorded."]
        out += [
            "Each shard is its own LoadGen run on its own node; their figures added up plan "
            "capacity, they are not one MLPerf result (MLPerf accepts the result of a single "
            "LoadGen instance).",
            "",
            "Combined throughput = samples processed / makespan (first shard start to last "
            "shard end). Ideal = sum of the same nodes' single-run wall throughputs. Scaling "
            "efficiency = combined / ideal. Speedup = sum of shard durations / makespan.",
            "",
        ]
        rows = []
        for g in self.groups:
            metric_sum = (
                f"{num(g['sum_loadgen_metric'])} {g['sum_loadgen_unit']}"
                if g["sum_loadgen_metric"] is not None
                else missing("not every shard has a rate metric")
            )
            rows.append(
                [
                    f"{g['name']} (`{g['group_dir']}`)",
                    ", ".join(g["nodes"]),
                    f"{g['split']} ({g['split_source'] or MISSING})",
                    f"{num(g['samples_processed'])} of {num(g['total_samples_requested'])}",
                    seconds(g["makespan_s"]),
                    self._or_missing(f"{num(g['combined_throughput'])} samples/s", g, "combined"),
                    metric_sum,
                    ratio(g["speedup"]),
                    self._or_missing(f"{num(g['ideal_throughput'])} samples/s", g, "ideal"),
                    self._or_missing(num(g["scaling_efficiency"], 3), g, "eff"),
                ]
            )
        out += table(
            [
                "Group (dir)",
                "Nodes",
                "Split (source)",
                "Samples processed",
                "Makespan",
                "Combined throughput",
                "Sum of LoadGen metrics",
                "Speedup vs sequential",
                "Ideal throughput",
                "Scaling efficiency",
            ],
            rows,
        )
        for g in self.groups:
            mine = [s for s in self.shards if s["group_dir"] == g["group_dir"]]
            out += ["", f"#### {g['name']} shards", ""]
            out += table(
                [
                    "Node",
                    "Run dir",
                    "Shard",
                    "Samples",
                    "Duration",
                    "Wall throughput",
                    "LoadGen metric",
                    "Validity",
                    "State",
                    "Single-run throughput (source)",
                ],
                [
                    [
                        s["node"],
                        f"`{s['run_dir']}`",
                        f"from {num(s['shard_start'])}",
                        f"{num(s['samples_processed'])} of {num(s['samples_requested'])}",
                        seconds(s["duration_s"]),
                        f"{num(s['wall_throughput'])} samples/s"
                        if s["wall_throughput"] is not None
                        else missing("not recorded"),
                        f"{exact(s['metric_value'])} {s['metric_unit'] or ''}".rstrip()
                        if s["metric_value"] is not None
                        else missing("not recorded"),
                        "**INVALID**" if s["validity"] == "INVALID" else (s["validity"] or MISSING),
                        s["state"] or MISSING,
                        f"{num(s['single_run_throughput'])} samples/s (`{s['single_run_source']}`)"
                        if s["single_run_throughput"] is not None
                        else missing("no completed single run of this node"),
                    ]
                    for s in mine
                ],
            )
        return out

    def insights(self) -> list[str]:
        out = ["## Insights", "", "Each sentence is computed from the figures above.", ""]
        lines = insight_lines(self.rows)
        return out + ([f"- {t}" for t in lines] or ["- Nothing to compare yet."])

    def projections(self) -> list[str]:
        out = [
            "## Full-dataset projections",
            "",
            f"{PROJECTION_FORMULA}, each with the throughput it uses named. The LoadGen metric "
            "projects only when it counts samples per second.",
            "",
        ]
        rows = []
        for n in self.nodes:
            for what, tp, hours in (
                ("wall throughput", n["wall_throughput"], n["projection_h_wall"]),
                ("LoadGen metric", n["mean_metric"], n["projection_h_loadgen"]),
            ):
                rows.append(
                    [
                        n["node"],
                        family(n),
                        what,
                        self._projection_text(n["dataset_size"], tp, hours, n["metric_unit"], what),
                        names(n["wall_runs"] if what == "wall throughput" else n["run_dirs"], 3),
                    ]
                )
        for g in self.groups:
            rows.append(
                [
                    f"group {g['name']}",
                    family(g),
                    "combined throughput",
                    self._projection_text(
                        g["dataset_size"],
                        g["combined_throughput"],
                        g["projection_h_combined"],
                        "samples/s",
                        "combined throughput",
                    ),
                    f"`{g['group_dir']}`",
                ]
            )
        if not rows:
            return [*out, "No completed run to project from."]
        return out + table(["Node", "Benchmark", "Throughput used", "Projection", "From"], rows)

    def artifacts(self) -> list[str]:
        out = ["## Artifacts", ""]
        for c in self.charts:
            rel = _rel(c, self.reports_dir)
            out.append(f"- `{rel}`")
        for c in self.charts:
            out += ["", f"![{c.stem}]({_rel(c, self.reports_dir)})"]
        out += [
            "",
            f"Per-run reports (`<node>_comprehensive_report.md`) and summaries are in each run "
            f"dir under `{self.results_dir}`; group summaries in each `group_*` dir.",
        ]
        return out

    def history_section(self) -> list[str]:
        assert self.history is not None
        chart = next((c for c in self.charts if c.name == HISTORY), None)
        rel = _rel(chart, self.reports_dir) if chart else None
        source = self.history.margin_source
        if Path(source).is_file():  # a snapshot: relative to this report, as every path here
            source = f"`{_rel(Path(os.path.abspath(source)), self.reports_dir)}`"
        return history_section(self.history, self._run_link, rel, source)

    # --- pieces --------------------------------------------------------------------------------

    def _run_link(self, r: Mapping[str, Any]) -> str:
        """The run dir's name, linked to its per-run report relative to this report."""
        target = (self.results_dir / str(r["run_dir"]) / report_name(r["node"])).as_posix()
        return f"[`{r['run_dir']}`]({target})"

    def _or_missing(self, text: str, g: Mapping[str, Any], which: str) -> str:
        if which == "combined" and g["combined_throughput"] is None:
            if g["samples_processed"] is None:
                return missing("a shard's processed samples are unknown")
            return missing("a shard's start or end time is unknown")
        if which == "ideal" and g["ideal_throughput"] is None:
            return missing("a node has no completed single run to compare with")
        if which == "eff" and g["scaling_efficiency"] is None:
            if g["ideal_throughput"] is None:
                return missing("a node has no completed single run to compare with")
            return missing("no combined throughput")
        return text

    def _projection_text(
        self, size: int | None, tp: float | None, hours: float | None, unit: Any, what: str
    ) -> str:
        if hours is not None:
            return (
                f"{num(size)} samples / {num(tp)} samples/s ({what}) / 3600 = {projection(hours)}"
            )
        if not size:
            return missing("dataset size unknown")
        if tp is None:
            return missing(f"no {what} recorded")
        if what == "LoadGen metric" and unit != "samples/s":
            return missing(f"the LoadGen metric is in {unit}, not samples/s")
        return missing(f"no {what}")


def render_pipeline_report(
    results: Results,
    reports_dir: Path,
    charts: Sequence[Path],
    history: History | None = None,
) -> str:
    return PipelineReport(results, reports_dir, charts, history).render()
