"""The headless printer: one line per state change, progress at milestones, a summary at the end.

It consumes the same engine events as the TUI and formats figures the engine computed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

from console.format import fmt_duration, fmt_num, state_label
from engine.events import (
    Event,
    FleetProgressed,
    GroupFinished,
    GroupStarted,
    NodeChecked,
    Notice,
    PlanFinished,
    PlanStarted,
    QpsSearchFinished,
    QpsSearchStepped,
    ReportsFailed,
    ReportsWritten,
    RunFinished,
    RunProgress,
    RunProgressSources,
    RunSettingsResolved,
    RunStateChanged,
    ServiceLog,
    ServiceStateChanged,
    StageStarted,
    TelemetrySampled,
)
from engine.model import RunState
from engine.results.schema import RunSummary
from engine.results.summary import FLEET_LABEL, group_label
from engine.run.plan_progress import PlanProgressTracker

PROGRESS_EVERY_S = 10.0
PROGRESS_STEPS = 4  # also print at 25 %, 50 %, 75 %


def run_result_line(summary: RunSummary) -> str:
    """The figures of a finished run, as recorded in its orchestrator_summary.json."""
    lg = summary.loadgen
    parts = []
    if lg.metric:
        parts.append(f"LoadGen {lg.metric.name}: {fmt_num(lg.metric.value, lg.metric.unit or '')}")
    else:
        parts.append("LoadGen metric: —")
    if lg.token_metric:
        tok = lg.token_metric
        parts.append(f"{tok.name}: {fmt_num(tok.value, tok.unit or '')}")
    if lg.validity:
        v, reasons = lg.validity, lg.validity_reasons
        parts.append(v + (f" ({'; '.join(reasons)})" if v != "VALID" and reasons else ""))
    parts.append(f"wall {fmt_num(summary.wall_throughput, 'samples/s')}")
    processed = summary.samples_processed
    parts.append(f"{'—' if processed is None else processed}/{summary.samples_requested} samples")
    parts.append(fmt_duration(summary.wall.duration_s))
    return ", ".join(parts)


def submission_line(summary: RunSummary) -> str | None:
    """The checker's view of a finished run: its headline and whether the round would take
    it ("development run" with the rules it breaks); None when the run was not assessed."""
    e, h = summary.eligibility, summary.checker_headline
    if e is None and h is None:
        return None
    parts = []
    if h is not None:
        shown = fmt_num(h.value, h.unit or "") if h.value is not None else f"— ({h.missing})"
        parts.append(f"checker headline {shown}")
    if e is not None:
        parts.append(e.label())
    return ", ".join(parts)


def fleet_line(fleet: Mapping[str, Any]) -> str:
    """A fleet run's shares, as its summary's `fleet` block records them."""
    shares = []
    for e in fleet.get("endpoints") or []:
        share = e.get("query_share")
        pct = "—" if share is None else f"{100 * share:.0f}%"
        errors = e.get("error_count") or 0
        shares.append(
            f"{e.get('node')} {e.get('queries')} queries ({pct})"
            + (f", {errors} errors" if errors else "")
            + ("" if e.get("state") == "up" else f", {e.get('state')}")
        )
    left = [x.get("node") for x in fleet.get("excluded") or []]
    return (
        f"{FLEET_LABEL} over {', '.join(fleet.get('nodes') or [])}: "
        + "; ".join(shares)
        + f"; {fleet.get('retries', 0)} retried"
        + (f"; left out: {', '.join(map(str, left))}" if left else "")
    )


def settings_lines(ev: RunSettingsResolved) -> list[str]:
    """What LoadGen will issue for a run, its ETA, and the user.conf lines that make the
    request hold: the same lines `mlconsole check` prints."""
    eta = ""
    if ev.issued is not None:
        eta = f"; ETA {fmt_duration(ev.eta_s)} ({ev.eta_basis})"
    lines = [f"settings: {ev.sentence}{eta}" + (f" [{ev.source}]" if ev.source else "")]
    if ev.fix_lines and not ev.exact_samples and not ev.holds:
        lines.append(
            f"  to run exactly {ev.requested:,}, add to user_conf (or set exact_samples = true): "
            + "; ".join(ev.fix_lines)
        )
    if ev.fix_lines and ev.exact_samples:
        lines.append("  exact_samples adds to the user.conf: " + "; ".join(ev.fix_lines))
    if ev.trace_note:
        lines.append(f"  {ev.trace_note}")
    return lines


class BatchPrinter:
    def __init__(self, out: TextIO | None = None, *, verbose: bool = False) -> None:
        self.out = out or sys.stdout
        self.verbose = verbose
        self.t0 = time.monotonic()
        self._progress_mark: dict[str, tuple[float, int]] = {}
        self._stages = 0
        self._gpu_state: dict[str, str] = {}
        self._sources_said: set[str] = set()
        # The plan's progress, folded from the same events as the TUI's notice bar.
        self.progress = PlanProgressTracker()

    def _print(self, text: str) -> None:
        el = int(time.monotonic() - self.t0)
        self.out.write(f"[{el // 3600:02d}:{el % 3600 // 60:02d}:{el % 60:02d}] {text}\n")
        self.out.flush()

    def plan_line(self) -> str | None:
        """The plan's progress line (engine.run.plan_progress), as the TUI's notice bar says it;
        None outside a plan."""
        plan = self.progress.plan()
        return plan.line() if plan is not None and not plan.finished else None

    def __call__(self, event: Event) -> None:
        self.progress.apply(event)
        self._say(event)
        if isinstance(event, RunFinished):
            line = self.plan_line()
            if line:  # after each run ends: how far the plan is, and its ETA
                self._print(line)

    def _say(self, event: Event) -> None:
        match event:
            case PlanStarted():
                self._stages = event.stages
                self._print(f"plan: {event.runs} runs in {event.stages} stages ({event.config})")
            case Notice():
                tag = {"warning": "NOTE ", "error": "ERROR "}.get(event.level, "")
                self._print(f"{tag}{event.message}")
            case StageStarted():
                plan = self.progress.plan()  # its place in this plan (a resumed one too)
                at = f"{plan.stage}/{plan.stages}" if plan else f"{event.index + 1}/{self._stages}"
                self._print(f"stage {at}: {event.name} ({event.kind})")
            case GroupStarted():
                shards = ", ".join(f"{s.node} {s.samples}" for s in event.shards)
                self._print(
                    f"group {event.name} ({group_label(len(event.shards))}): shards {shards} — "
                    f"{event.split}: {event.split_source}"
                )
            case RunStateChanged():
                if event.state.terminal:
                    return  # RunFinished prints the result line
                detail = f" — {event.detail}" if event.detail else ""
                where = (
                    f" {event.run_dir}" if event.state == RunState.RUNNING and event.run_dir else ""
                )
                label = state_label(event.state)
                self._print(f"{event.run_id:<22} {event.node:<10} {label}{detail}{where}")
            case RunProgress():
                self._progress(event)
            case RunSettingsResolved():
                for line in settings_lines(event):
                    self._print(f"{event.run_id:<22} {event.node:<10} {line}")
            case RunProgressSources():
                # Said once per distinct sentence: every run of a benchmark shares it.
                if event.sentence not in self._sources_said:
                    self._sources_said.add(event.sentence)
                    self._print(f"{event.run_id:<22} {'':<10} {event.sentence}")
            case RunFinished():
                s = event.summary
                detail = s.exit.detail
                text = run_result_line(s) if event.state.ok or s.loadgen.metric else detail
                label = state_label(event.state)
                self._print(f"{event.run_id:<22} {event.node:<10} {label}: {text}")
                if detail and event.state.ok:
                    self._print(f"{'':<22} {'':<10} note: {detail}")
                if event.regression is not None and event.regression.flagged:
                    self._print(f"{'':<22} {'':<10} {event.regression.line(event.node)}")
                checker = submission_line(s) if s.loadgen.complete else None
                if checker:
                    self._print(f"{'':<22} {'':<10} {checker}")
                if s.fleet:
                    self._print(f"{'':<22} {'':<10} {fleet_line(s.fleet)}")
                if s.accuracy is not None:
                    self._print(f"{'':<22} {'':<10} {s.accuracy.line()}")
                if s.compliance is not None:
                    self._print(f"{'':<22} {'':<10} {s.compliance.line()}")
            case QpsSearchStepped():
                self._print(f"qps search {event.result.name}: {event.result.steps[-1].line()}")
            case QpsSearchFinished():
                self._print(f"{event.result.line()} — {event.search_dir}")
            case GroupFinished():
                g = event.summary
                self._print(
                    f"group {event.name}: makespan {fmt_duration(g.makespan_s)}, "
                    f"combined {fmt_num(g.combined_throughput, 'samples/s')}, "
                    f"speedup vs sequential {fmt_num(g.speedup)}x, "
                    f"scaling efficiency {fmt_num(g.scaling_efficiency)} "
                    f"(split {g.split}) — {event.group_dir} — {group_label(len(g.nodes))}"
                )
            case ServiceStateChanged():
                detail = f" — {event.detail}" if event.detail else ""
                self._print(f"service {event.service} on {event.node}: {event.state}{detail}")
            case ServiceLog():
                if self.verbose:
                    for line in event.lines:
                        self._print(f"  {event.node}/{event.service} {event.stream}: {line}")
            case FleetProgressed():
                pass
            case NodeChecked():
                f = event.facts
                self._print(
                    f"node {f.node}: {'reachable' if f.reachable else 'UNREACHABLE'}"
                    + (f" — {f.error}" if f.error else "")
                )
                for w in f.warnings:  # e.g. a container runtime that does not answer
                    self._print(f"node {f.node}: warning: {w}")
            case ReportsWritten():
                # After the outcome line: the reports are written once the outcome is out.
                if event.paths:
                    md = [str(p) for p in event.paths if str(p).endswith("pipeline_report.md")]
                    took = "" if event.elapsed_s is None else f" ({event.elapsed_s:.1f} s)"
                    self._print(
                        f"reports: {len(event.paths)} files in {event.reports_dir or '?'}{took}"
                        + (f"; pipeline report {md[0]}" if md else "")
                    )
            case ReportsFailed():
                self._print(f"ERROR reports not written: {event.sentence}")
            case PlanFinished():
                self._print(
                    f"done in {fmt_duration(event.elapsed_s)}: {len(event.succeeded)} "
                    f"succeeded, {len(event.failed)} failed, "
                    f"{len(event.cancelled)} cancelled"
                )
            case TelemetrySampled():
                # One line when a node's telemetry state changes, not one per sample.
                if self._gpu_state.get(event.node) != event.state:
                    self._gpu_state[event.node] = event.state
                    if event.state == "ok":
                        gpus = ", ".join(
                            f"gpu{g.gpu} {fmt_num(g.utilization_pct, '%')}" for g in event.samples
                        )
                        self._print(f"telemetry {event.node}: sampling ({gpus})")
                    else:
                        self._print(f"telemetry {event.node}: no GPU telemetry ({event.state})")
            case _:
                pass

    def _progress(self, ev: RunProgress) -> None:
        now = time.monotonic()
        if ev.total:
            step = int(ev.completed * PROGRESS_STEPS / ev.total)
        else:
            step = 0
        last = self._progress_mark.get(ev.run_id)
        if last is not None and step <= last[1] and now - last[0] < PROGRESS_EVERY_S:
            return
        if ev.completed == 0 or (ev.total and ev.completed >= ev.total):
            return
        self._progress_mark[ev.run_id] = (now, step)
        pct = f" ({100 * ev.completed / ev.total:.0f}%)" if ev.total else ""
        self._print(
            f"{ev.run_id:<22} {'':<10} progress {ev.completed}/{ev.total or '?'}{pct}, "
            f"{fmt_num(ev.rate, 'samples/s')} so far, ETA {fmt_duration(ev.eta_s)} "
            f"[{ev.source}]"
        )
