"""The per-run report, `<node>_comprehensive_report.md`, written into the run dir.

Everything in it is read from the run's `orchestrator_summary.json` (through
`engine.analysis.columns.run_row`, the same reading the frames use) or computed by `engine.figures`;
the run dir's path is printed at the top so every figure can be traced to its files.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine import figures
from engine.analysis.columns import run_row
from engine.analysis.report.format import (
    MISSING,
    cell,
    exact,
    missing,
    num,
    percent,
    projection,
    reasons,
    seconds,
)
from engine.checks.accuracy import accuracy_lines
from engine.checks.compliance import compliance_lines
from engine.checks.regression import Regression
from engine.results.schema import (
    RUN_SUMMARY_FILE,
    RUN_SUMMARY_SCHEMA_ID,
    RunSummary,
    read_run_summary,
)
from engine.results.store import RecordedRun, check_component
from engine.submission.view import submission_lines

SIMULATED_NOTE = (
    "**Simulated node speeds.** This run used the bundled demo harness: real LoadGen, simulated "
    "GPU service times. Its figures measure the simulated node, not hardware."
)


# --- why a figure is missing (shared with the pipeline report) ---------------------------------


def why_no_metric(row: Mapping[str, Any]) -> str:
    if row["state"] is not None and not row["ok"]:
        return f"run {row['state']}"
    if row["loadgen_problems"]:
        return str(row["loadgen_problems"][0])
    if row["complete"] is False:
        return "LoadGen summary incomplete"
    return "no LoadGen metric in the summary"


def why_no_wall(row: Mapping[str, Any]) -> str:
    if row["samples_processed"] is None:
        return "samples processed unknown"
    if row["duration_s"] is None:
        return "duration unknown"
    return "no wall throughput in the summary"


def why_no_validity(row: Mapping[str, Any]) -> str:
    if row["loadgen_problems"]:
        return str(row["loadgen_problems"][0])
    if row["state"] is not None and not row["ok"]:
        return f"run {row['state']}"
    return "LoadGen reported no verdict"


def metric_text(row: Mapping[str, Any]) -> str:
    if row["metric_value"] is None:
        return missing(why_no_metric(row))
    return f"{exact(row['metric_value'])} {row['metric_unit'] or ''}".rstrip()


def wall_text(row: Mapping[str, Any]) -> str:
    if row["wall_throughput"] is None:
        return missing(why_no_wall(row))
    return f"{num(row['wall_throughput'])} samples/s"


def validity_text(row: Mapping[str, Any]) -> str:
    """INVALID is loud; nothing here ever calls a run compliant."""
    v = row["validity"]
    if v == "INVALID":
        return "**INVALID**"
    if v is None:
        return missing(why_no_validity(row))
    return str(v)


def samples_text(row: Mapping[str, Any]) -> str:
    req, done = row["samples_requested"], row["samples_processed"]
    text = f"{num(req)} requested, " + (
        f"{num(done)} processed" if done is not None else missing("processed count unknown")
    )
    if row["samples_mismatch"]:
        text += " **(mismatch)**"
    return text


# --- the report --------------------------------------------------------------------------------


def render_run_report(rec: RecordedRun, regression: Regression | None = None) -> str:
    """The markdown text for one run (pure: no file access); `regression`: the run against
    its node's earlier runs (engine.analysis.regression), None when not judged."""
    s = rec.summary
    row = run_row(rec)
    wall, lg = s.wall, s.loadgen
    out: list[str] = [
        f"# Run report: {row['run_id']} on {row['node']}",
        "",
        f"- Run dir: `{rec.run_dir.name}`, this report's folder (paths here are relative to it, "
        "so the results folder can move)",
        f"- Source: every figure below is read from [`{RUN_SUMMARY_FILE}`]({RUN_SUMMARY_FILE}) "
        "in that dir "
        f"(schema {RUN_SUMMARY_SCHEMA_ID} v{s.schema_version}), which the orchestrator "
        "built from LoadGen's logs and its own wall clock.",
        f"- Benchmark: {row['benchmark']}, scenario {row['scenario']}, mode {row['mode']}; "
        f"stage {row['stage'] or MISSING}"
        + (f"; group {row['group_id']}" if row["group_id"] else ""),
        "",
    ]
    if row["simulated"]:
        out += [f"> {SIMULATED_NOTE}", ""]
    if row["validity"] == "INVALID":
        why = reasons(row["validity_reasons"]) or "LoadGen gave no reason"
        out += [
            f"> **INVALID**: LoadGen judged this run INVALID ({why}). "
            "It is not a valid MLPerf result.",
            "",
        ]
    if row["samples_mismatch"]:
        out += [
            f"> **Sample mismatch**: {num(row['samples_requested'])} samples were requested but "
            f"LoadGen processed {num(row['samples_processed'])}. Per-sample figures below use "
            "the processed count.",
            "",
        ]
    if regression is not None and regression.flagged:
        out += [f"> **{regression.line(row['node'])}**", ""]
    proj_wall = figures.projection_hours(row["dataset_size"], row["wall_throughput"])
    proj_lg = (
        figures.projection_hours(row["dataset_size"], row["metric_value"])
        if row["metric_unit"] == "samples/s"
        else None
    )
    metric_name = row["metric_name"] or "headline"
    token = (
        f"{exact(row['token_metric_value'])} {row['token_metric_unit'] or ''} "
        f"({row['token_metric_name']})"
        if row["token_metric_value"] is not None
        else MISSING + " (no token metric)"
    )
    wall_detail = wall_text(row)
    if row["wall_throughput"] is not None:
        wall_detail += (
            f" = {num(row['samples_processed'])} samples processed / {num(row['duration_s'])} s"
        )
    table = [
        (f"LoadGen metric ({metric_name})", metric_text(row)),
        ("LoadGen token metric", token),
        ("Wall throughput (includes model load; not the MLPerf number)", wall_detail),
        ("Validity (LoadGen)", validity_text(row)),
        ("Samples", samples_text(row)),
        ("Duration (wall, launch to exit)", seconds(row["duration_s"])),
        ("Started / ended (UTC)", f"{wall.start or MISSING} / {wall.end or MISSING}"),
        ("Exit", _exit_text(row)),
        (
            "Full-dataset projection, wall throughput",
            _projection(row, proj_wall, row["wall_throughput"], "wall throughput"),
        ),
        (
            "Full-dataset projection, LoadGen metric",
            _projection(row, proj_lg, row["metric_value"], "LoadGen metric"),
        ),
    ]
    out += ["## Result", "", "| Figure | Value |", "|---|---|"]
    out += [f"| {cell(k)} | {cell(v)} |" for k, v in table]
    if regression is not None:
        out += ["", "## Against earlier runs (regression check)", "", regression.line(row["node"])]
    out += ["", "## Validity", ""]
    if row["validity"] == "INVALID":
        out.append("LoadGen's verdict: **INVALID**. Reasons:")
        out += [f"- {r}" for r in row["validity_reasons"]] or ["- LoadGen gave no reason"]
    elif row["validity"] is None:
        out.append(f"LoadGen's verdict: {missing(why_no_validity(row))}.")
    else:
        out.append(f"LoadGen's verdict: {row['validity']}.")
        out += [f"- {r}" for r in row["validity_reasons"]]
    extras = [f"- incomplete: {r}" for r in lg.incomplete_reasons]
    extras += [f"- problem: {p}" for p in row["loadgen_problems"]]
    if lg.errors:
        extras.append(f"- LoadGen errors: {lg.errors} (see mlperf_log_detail.txt)")
    if lg.warnings:
        extras.append(f"- LoadGen warnings: {lg.warnings} (see mlperf_log_detail.txt)")
    if extras:
        out += ["", "LoadGen log notes:", *extras]
    out += ["", "## Submission (the checker's view)", ""]
    out += submission_lines(s.eligibility, s.checker_headline)
    if s.accuracy is not None:
        lines = accuracy_lines(s.accuracy, paths=False)
        out += ["", "## Accuracy", "", *[f"- {line.strip(' -')}" for line in lines]]
    if s.compliance is not None:
        out += ["", f"## Compliance ({s.compliance.test})", ""]
        out += [f"- {line.strip(' -')}" for line in compliance_lines(s.compliance, paths=False)]
    out += ["", "## GPU utilization", "", *_telemetry_lines(s), "", "## Host", ""]
    out += _host_lines(s)
    files = list(s.files)
    out += ["", "## Files", "", "In this folder when the summary was written:", ""]
    out += [f"- [`{f}`]({f})" for f in files] or ["- none listed"]
    return "\n".join(out) + "\n"


def _exit_text(row: Mapping[str, Any]) -> str:
    code = row["exit_code"] if row["exit_code"] is not None else MISSING
    text = f"{row['state'] or MISSING}, code {code}"
    return text + (f": {row['exit_detail']}" if row["exit_detail"] else "")


def _projection(row: Mapping[str, Any], hours: float | None, tp: float | None, what: str) -> str:
    if hours is None:
        if not row["dataset_size"]:
            return missing("dataset size unknown")
        if tp is None:
            return missing(f"no {what} recorded")
        if what == "LoadGen metric" and row["metric_unit"] != "samples/s":
            return missing(f"the LoadGen metric is in {row['metric_unit']}, not samples/s")
        return missing(f"no {what}")
    return (
        f"{num(row['dataset_size'])} samples / {num(tp)} samples/s ({what}) / 3600"
        f" = {projection(hours)}"
    )


def _telemetry_lines(s: RunSummary) -> list[str]:
    tel = s.telemetry
    if not tel.gpus:
        reason = tel.detail or tel.state or "the summary has no telemetry section"
        return [f"no GPU telemetry: {reason}"]
    lines = [
        "| GPU | Name | Samples | Utilization mean | p95 | max | Memory peak (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for g in tel.gpus:
        lines.append(
            f"| {MISSING if g.gpu is None else g.gpu} | {cell(g.name or MISSING)} | "
            f"{num(g.samples)} | {percent(g.util_mean)} | {percent(g.util_p95)} | "
            f"{percent(g.util_max)} | {num(g.mem_peak_mib)} |"
        )
    return lines


def _host_lines(s: RunSummary) -> list[str]:
    host = s.host
    gpus = ", ".join(str(g.name) for g in host.gpus)
    return [
        f"- OS: {host.os or MISSING}; Python: {host.python or MISSING}; "
        f"LoadGen: {host.loadgen_version or MISSING}",
        f"- GPUs: {gpus or MISSING} (GPU state: {host.gpu_state or MISSING})",
    ]


def report_name(node: object) -> str:
    """`<node>_comprehensive_report.md`; a node name unfit for a file name falls back to
    `run_comprehensive_report.md` rather than writing outside the run dir."""
    try:
        return f"{check_component(str(node), 'node name')}_comprehensive_report.md"
    except ValueError:
        return "run_comprehensive_report.md"


def write_text(path: Path, text: str) -> Path:
    """Atomic write, skipped when the file already holds `text` (rebuilds stay cheap and
    leave modification times alone)."""
    try:
        if path.read_text() == text:
            return path
    except (OSError, UnicodeDecodeError):
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def write_recorded_run_report(rec: RecordedRun, regression: Regression | None = None) -> Path:
    text = render_run_report(rec, regression)
    return write_text(rec.run_dir / report_name(rec.summary.node), text)


def read_recorded_run(run_dir: Path) -> RecordedRun:
    """The run dir's summary; `SummaryUnreadable` (one sentence, naming the file) otherwise."""
    return RecordedRun(Path(run_dir), read_run_summary(Path(run_dir)))
