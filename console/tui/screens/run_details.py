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

from console.batch import fmt_duration, fmt_num
from console.tui.messages import SummaryText
from engine.results.summary import FLEET_LABEL, group_label

SUMMARY_FILE = "mlperf_log_summary.txt"


def _metric(m: Mapping[str, Any] | None) -> str:
    if not m:
        return "—"
    return f"{m.get('name')}: {fmt_num(m.get('value'), m.get('unit') or '')}"


def run_details_text(
    summary: Mapping[str, Any] | None,
    run_dir: str | None,
    state: str,
    before_launch: Sequence[str] = (),
) -> str:
    """The parsed summary as lines a person reads; every figure is the recorded one.
    `before_launch`: what was said before the run started (LoadGen's settings, progress
    sources), shown first."""
    said = "".join(f"{line}\n" for line in before_launch)
    if not summary:
        where = f"\nrun dir: {run_dir}" if run_dir else ""
        return f"{said}state: {state}\nNo summary yet: the run has not finished.{where}"
    return said + _summary_text(summary, run_dir, state)


def _summary_text(summary: Mapping[str, Any], run_dir: str | None, state: str) -> str:
    lg = summary.get("loadgen") or {}
    wall = summary.get("wall") or {}
    ex = summary.get("exit") or {}
    wt = summary.get("wall_throughput") or {}
    lines = [
        f"run:        {summary.get('run_id')}  ({summary.get('label') or summary.get('stage')})",
        f"node:       {summary.get('node')}"
        + ("  (speed simulated)" if summary.get("simulated") else ""),
        f"benchmark:  {summary.get('benchmark')}  {summary.get('scenario')}  {summary.get('mode')}",
        f"state:      {ex.get('state', state)}  exit code {ex.get('code', '—')}",
    ]
    if ex.get("detail"):
        lines.append(f"            {ex['detail']}")
    processed = summary.get("samples_processed")
    lines += [
        f"samples:    {'—' if processed is None else processed} processed of "
        f"{summary.get('samples_requested')} requested (shard start "
        f"{summary.get('shard_start', 0)})",
        f"wall:       {wall.get('start') or '—'} → {wall.get('end') or '—'}  "
        f"({fmt_duration(wall.get('duration_s'))})",
        "",
        f"LoadGen metric:   {_metric(lg.get('metric'))}",
    ]
    if lg.get("token_metric"):
        lines.append(f"token metric:     {_metric(lg.get('token_metric'))}")
    lines += [
        f"wall throughput:  {fmt_num(wt.get('value'), 'samples/s')} (launch to exit, "
        "model load included; not the MLPerf number)",
        f"validity:         {lg.get('validity') or '—'}"
        + ("" if lg.get("complete", True) else "  (LoadGen's logs are incomplete)"),
    ]
    for reason in lg.get("validity_reasons") or []:
        lines.append(f"  - {reason}")
    for reason in lg.get("incomplete_reasons") or []:
        lines.append(f"  incomplete: {reason}")
    for problem in lg.get("problems") or []:
        lines.append(f"  problem: {problem}")
    if lg.get("errors") or lg.get("warnings"):
        lines.append(f"LoadGen errors {lg.get('errors', 0)}, warnings {lg.get('warnings', 0)}")
    tel = summary.get("telemetry") or {}
    lines += [
        "",
        f"GPU telemetry: {tel.get('state', '—')}"
        + (f" — {tel['detail']}" if tel.get("detail") else ""),
    ]
    for g in tel.get("gpus") or []:
        lines.append(
            f"  GPU {g.get('gpu')} {g.get('name') or ''}: util mean "
            f"{fmt_num(g.get('util_mean'), '%')}, p95 {fmt_num(g.get('util_p95'), '%')}, "
            f"max {fmt_num(g.get('util_max'), '%')}, memory peak "
            f"{fmt_num(g.get('mem_peak_mib'), 'MiB')} ({g.get('samples')} samples)"
        )
    host = summary.get("host") or {}
    if any(host.get(k) for k in ("os", "python", "loadgen_version")):
        lines.append(
            f"host: {host.get('os') or '—'}, Python {host.get('python') or '—'}, "
            f"LoadGen {host.get('loadgen_version') or '—'}"
        )
    lines += fleet_lines(summary.get("fleet"))
    lines += ["", f"run dir: {run_dir or summary.get('run_dir')}", "files:"]
    lines += [f"  {name}" for name in summary.get("files") or []]
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


def group_details_text(summary: Mapping[str, Any] | None, name: str, state: str) -> str:
    if not summary:
        return f"group {name}: {state}\nNo group summary yet: the group has not finished."
    m = summary.get("sum_loadgen_metric") or {}
    lines = [
        f"what:       {group_label(len(summary.get('nodes') or []))}",
        f"group:      {summary.get('name')}  ({summary.get('benchmark')} "
        f"{summary.get('scenario')} {summary.get('mode')})",
        f"nodes:      {', '.join(summary.get('nodes') or [])}",
        f"split:      {summary.get('split')} — {summary.get('split_source')}",
        f"samples:    {summary.get('samples_processed')} processed of "
        f"{summary.get('total_samples_requested')} requested",
        f"makespan:   {fmt_duration(summary.get('makespan_s'))}",
        f"combined throughput:   {fmt_num(summary.get('combined_throughput'), 'samples/s')}",
        f"sum of LoadGen metrics: {fmt_num(m.get('value'), m.get('unit') or '')}",
        f"speedup vs sequential: {fmt_num(summary.get('speedup'))}x",
        f"scaling efficiency:    {fmt_num(summary.get('scaling_efficiency'))}",
        "",
        "shards:",
    ]
    for sh in summary.get("shards") or []:
        wt = sh.get("wall_throughput")
        value = wt.get("value") if isinstance(wt, Mapping) else wt
        lines.append(
            f"  {sh.get('node')}: {sh.get('samples_requested')} samples from "
            f"{sh.get('shard_start')}, {sh.get('state')}, {fmt_duration(sh.get('duration_s'))}, "
            f"wall {fmt_num(value, 'samples/s')} ({sh.get('run_dir')})"
        )
    lines.append(f"\ngroup dir: {summary.get('group_dir')}")
    return "\n".join(lines)


def read_summary_file(run_dir: str | None) -> tuple[str | None, str]:
    """mlperf_log_summary.txt of a controller-side run dir (blocking: call from a thread)."""
    if not run_dir:
        return None, "no run dir yet"
    path = Path(run_dir) / SUMMARY_FILE
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
                    f"── {SUMMARY_FILE} ──\n(reading…)", id="details-loadgen", markup=False
                )
        yield Footer()

    def on_mount(self) -> None:
        if self.run_dir is not None:
            self._load_summary(self.run_dir)

    @work(thread=True, exit_on_error=False)
    def _load_summary(self, run_dir: str) -> None:
        text, reason = read_summary_file(run_dir)
        self.post_message(SummaryText("", text, reason))  # thread-safe; dropped if closed

    def on_summary_text(self, message: SummaryText) -> None:
        message.stop()
        body = message.text if message.text is not None else f"not available: {message.reason}"
        self.query_one("#details-loadgen", Static).update(f"── {SUMMARY_FILE} ──\n{body}")
