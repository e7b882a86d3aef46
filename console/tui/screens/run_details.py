"""`enter` on a run: what its orchestrator_summary.json records (LoadGen's metric, validity
and why, wall throughput, samples, timing, exit, telemetry, files), then the run dir's
mlperf_log_summary.txt, read in a worker thread. On a group: its group_summary.json figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from console.format import MISSING, fmt_duration, fmt_num, state_label
from console.tui.messages import LoadgenSummaryText
from engine.checks.accuracy import accuracy_lines
from engine.checks.compliance import compliance_lines
from engine.checks.regression import Regression
from engine.loadgen.files import LOADGEN_SUMMARY_FILE
from engine.model import RunState
from engine.results.group_schema import GroupSummary
from engine.results.schema import Metric, RunSummary
from engine.results.summary import FLEET_LABEL, group_label
from engine.submission.view import submission_lines


def _metric(m: Metric | None) -> str:
    if not m:
        return MISSING
    return f"{m.name}: {fmt_num(m.value, m.unit or '')}"


def run_details_text(
    summary: RunSummary | None,
    run_dir: str | None,
    state: str,
    before_launch: Sequence[str] = (),
    last_seen: int | None = None,
    regression: Regression | None = None,
) -> str:
    """The recorded run summary as lines a person reads; every figure is the recorded one.
    `before_launch`: what was said before the run started (LoadGen's settings, progress
    sources), shown first."""
    said = "".join(f"{line}\n" for line in before_launch)
    if summary is None:
        where = f"\nrun dir: {run_dir}" if run_dir else ""
        label = state_label(state)
        return f"{said}state: {label}\nNo summary yet: the run has not finished.{where}"
    return said + _summary_text(summary, run_dir, state, last_seen, regression)


def _exit_words(code: int | None, state: str) -> str:
    """A cancelled run was killed: it has no exit code of its own, and `None` says nothing."""
    if code is not None:
        return f"exit code {code}"
    if state in (RunState.CANCELLED, RunState.CANCEL_FAILED):
        return "no exit code (killed by the cancel)"
    return "no exit code recorded"


def _summary_text(
    s: RunSummary,
    run_dir: str | None,
    state: str,
    last_seen: int | None = None,
    regression: Regression | None = None,
) -> str:
    lg, wall, ex = s.loadgen, s.wall, s.exit
    lines = [
        f"run:        {s.run_id}  ({s.label or s.stage})",
        f"node:       {s.node}" + ("  (speed simulated)" if s.simulated else ""),
        f"benchmark:  {s.benchmark}  {s.scenario}  {s.mode}",
        f"state:      {state_label(ex.state or state)}  {_exit_words(ex.code, ex.state or state)}",
    ]
    if ex.detail:
        lines.append(f"            {ex.detail}")
    if s.samples_processed is not None:
        processed = f"{s.samples_processed} processed"
    elif last_seen is not None:
        # LoadGen wrote no summary (a cancel, a crash): say the live count, named as such.
        processed = f"{last_seen} seen completed live (LoadGen recorded no count)"
    else:
        processed = f"{MISSING} processed"
    lines += [
        f"samples:    {processed} of {s.samples_requested} requested (shard start "
        f"{s.shard_start or 0})",
        f"wall:       {wall.start or MISSING} → {wall.end or MISSING}  "
        f"({fmt_duration(wall.duration_s)})",
        "",
        f"LoadGen metric:   {_metric(lg.metric)}",
    ]
    if lg.token_metric:
        lines.append(f"token metric:     {_metric(lg.token_metric)}")
    lines += [
        f"wall throughput:  {fmt_num(s.wall_throughput, 'samples/s')} (launch to exit, "
        "model load included; not the MLPerf number)",
        *([f"vs earlier runs:  {regression.line(s.node)}"] if regression is not None else []),
        f"validity:         {lg.validity or MISSING}"
        + ("" if lg.complete is not False else "  (LoadGen's logs are incomplete)"),
    ]
    lines += [f"  - {reason}" for reason in lg.validity_reasons]
    lines += [f"  incomplete: {reason}" for reason in lg.incomplete_reasons]
    lines += [f"  problem: {problem}" for problem in lg.problems]
    if lg.errors or lg.warnings:
        lines.append(f"LoadGen errors {lg.errors or 0}, warnings {lg.warnings or 0}")
    lines += ["", *submission_lines(s.eligibility, s.checker_headline)]
    tel = s.telemetry
    lines += [
        "",
        f"GPU telemetry: {tel.state or MISSING}" + (f" — {tel.detail}" if tel.detail else ""),
    ]
    for g in tel.gpus:
        lines.append(
            f"  GPU {g.gpu} {g.name or ''}: util mean {fmt_num(g.util_mean, '%')}, "
            f"p95 {fmt_num(g.util_p95, '%')}, max {fmt_num(g.util_max, '%')}, memory peak "
            f"{fmt_num(g.mem_peak_mib, 'MiB')} ({g.samples} samples)"
        )
    host = s.host
    if host.os or host.python or host.loadgen_version:
        lines.append(
            f"host: {host.os or MISSING}, Python {host.python or MISSING}, "
            f"LoadGen {host.loadgen_version or MISSING}"
        )
    lines += fleet_lines(s.fleet)
    if s.accuracy is not None:
        lines += ["", *accuracy_lines(s.accuracy)]
    if s.compliance is not None:
        lines += ["", *compliance_lines(s.compliance)]
    lines += ["", f"run dir: {run_dir or s.run_dir or MISSING}", "files:"]
    lines += [f"  {name}" for name in s.files]
    return "\n".join(lines)


def fleet_lines(fleet: Mapping[str, Any] | None) -> list[str]:
    """A fleet run's block: one LoadGen result, and each node's share of it."""
    if not fleet:
        return []
    lines = [
        "",
        f"fleet:      {FLEET_LABEL} over {', '.join(fleet.get('nodes') or [])}"
        + (f", concurrency {fleet['concurrency']}" if fleet.get("concurrency") else ""),
        f"SUT name:   {fleet.get('sut_name') or '—'}",
        f"queries:    {fleet.get('completed')} answered, {fleet.get('failed')} failed, "
        f"{fleet.get('retries')} retried on another endpoint",
    ]
    for e in fleet.get("endpoints") or []:
        share = e.get("query_share")
        ttft = (e.get("ttft_s") or {}).get("p90")
        lines.append(
            f"  {e.get('node')}: {e.get('queries')} queries"
            f" ({'—' if share is None else f'{100 * share:.1f}%'}),"
            f" {fmt_num(e.get('tokens_per_s'), 'tokens/s')}, TTFT p90"
            f" {fmt_num(None if ttft is None else ttft * 1000, 'ms')}, errors"
            f" {e.get('error_count', 0)}, {e.get('state')}"
        )
    for x in fleet.get("excluded") or []:
        lines.append(f"  {x.get('node')}: left out: {x.get('reason')}")
    return lines


def group_details_text(summary: GroupSummary | None, name: str, state: str) -> str:
    if summary is None:
        return f"group {name}: {state}\nNo group summary yet: the group has not finished."
    g = summary
    m = g.sum_loadgen_metric
    lines = [
        f"what:       {group_label(len(g.nodes))}",
        f"group:      {g.name}  ({g.benchmark} {g.scenario} {g.mode})",
        f"nodes:      {', '.join(g.nodes)}",
        f"split:      {g.split} — {g.split_source}",
        f"samples:    {g.samples_processed} processed of {g.total_samples_requested} requested",
        f"makespan:   {fmt_duration(g.makespan_s)}",
        f"combined throughput:   {fmt_num(g.combined_throughput, 'samples/s')}",
        f"sum of LoadGen metrics: {fmt_num(m.value if m else None, (m.unit if m else '') or '')}",
        f"speedup vs sequential: {fmt_num(g.speedup)}x",
        f"scaling efficiency:    {fmt_num(g.scaling_efficiency)}",
        "",
        "shards:",
    ]
    for sh in g.shards:
        lines.append(
            f"  {sh.node}: {sh.samples_requested} samples from {sh.shard_start}, "
            f"{state_label(sh.state)}, {fmt_duration(sh.duration_s)}, "
            f"wall {fmt_num(sh.wall_throughput, 'samples/s')} ({sh.run_dir})"
        )
    lines.append(f"\ngroup dir: {g.group_dir}")
    return "\n".join(lines)


def read_loadgen_summary(run_dir: str | None) -> tuple[str | None, str]:
    """mlperf_log_summary.txt of a controller-side run dir (blocking: call from a thread)."""
    if not run_dir:
        return None, "no run dir yet"
    path = Path(run_dir) / LOADGEN_SUMMARY_FILE
    try:
        return path.read_text(errors="replace"), ""
    except OSError as err:
        return None, f"{path}: {err.strerror or err}"


class RunDetailsScreen(Screen[None]):
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back", show=True)]

    def __init__(self, title: str, text: str, run_dir: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.run_dir = run_dir

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="details"):
            yield Static(self.title_text, id="details-title", markup=False)
            yield Static(self.text, id="details-text", markup=False)
            if self.run_dir is not None:
                yield Static(
                    f"── {LOADGEN_SUMMARY_FILE} ──\n(reading…)", id="details-loadgen", markup=False
                )
        yield Footer()

    def on_mount(self) -> None:
        if self.run_dir is not None:
            self._load_summary(self.run_dir)

    @work(thread=True, exit_on_error=False)
    def _load_summary(self, run_dir: str) -> None:
        text, reason = read_loadgen_summary(run_dir)
        self.post_message(LoadgenSummaryText("", text, reason))  # thread-safe; dropped if closed

    def on_loadgen_summary_text(self, message: LoadgenSummaryText) -> None:
        message.stop()
        body = message.text if message.text is not None else f"not available: {message.reason}"
        self.query_one("#details-loadgen", Static).update(f"── {LOADGEN_SUMMARY_FILE} ──\n{body}")
