"""Reads the LoadGen files of a run directory together: summary, detail log, accuracy log and
trace, checked against each other. The per-file readers live in `summary`, `detail` and
`accuracy`; they are re-exported here, the one import the rest of mlconsole needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.loadgen.accuracy import AccuracyLog, parse_accuracy
from engine.loadgen.detail import (
    DETAIL_PREFIXES,
    DetailEntry,
    DetailLog,
    parse_detail,
    parse_detail_line,
)
from engine.loadgen.records import Metric, Problem, json_safe, normalise_mode, read_text
from engine.loadgen.summary import (
    HEADLINE_NAMES,
    THROUGHPUT_LINES,
    Summary,
    parse_summary,
    percentile_key,
)
from engine.loadgen.validity import validity_reasons

__all__ = [
    "DETAIL_PREFIXES",
    "AccuracyLog",
    "DetailEntry",
    "DetailLog",
    "Metric",
    "Problem",
    "RunLogs",
    "Summary",
    "EARLY_STOPPING_KEYS",
    "early_stopping_from_detail",
    "headline_from_detail",
    "json_safe",
    "normalise_mode",
    "parse_accuracy",
    "parse_detail",
    "parse_detail_line",
    "parse_summary",
    "read_run_logs",
    "read_text",
    "token_metric_from_detail",
    "validity_reasons",
]

# --- figures from the detail log, named like the summary's lines ----------------------------


def headline_from_detail(detail: DetailLog) -> Metric | None:
    """The scenario's headline as the detail log holds it, named like the summary line."""
    v, scenario = detail.values, detail.scenario
    if scenario in HEADLINE_NAMES:
        name = HEADLINE_NAMES[scenario]
        unit, key = THROUGHPUT_LINES[name]
        return _metric(name, v.get(key), unit, key)
    if scenario in ("SingleStream", "MultiStream"):
        pct = v.get("effective_target_latency_percentile")
        if not isinstance(pct, int | float):
            return None
        p = f"{pct * 100:.2f}"
        key = percentile_key(p, scenario)
        return _metric(f"{float(p):.1f}th percentile latency (ns)", v.get(key), "ns", key)
    return None


# The detail-log key of the early-stopping latency estimate (ns), per scenario: what the
# submission checker reports for SingleStream and MultiStream since v2.0.
EARLY_STOPPING_KEYS = {
    "SingleStream": "early_stopping_latency_ss",
    "MultiStream": "early_stopping_latency_ms",  # in ns despite its name
}


def early_stopping_from_detail(detail: DetailLog) -> Metric | None:
    """The early-stopping latency estimate (SingleStream, MultiStream), named like the
    summary's bullet; None when the log has none, or holds 0 (LoadGen's value when too few
    queries ran for an estimate)."""
    key = EARLY_STOPPING_KEYS.get(detail.scenario or "")
    value = detail.values.get(key) if key else None
    pct = detail.values.get("effective_target_latency_percentile")
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        return None
    shown = f"{pct * 100:.1f}th" if isinstance(pct, int | float) else "target"
    return Metric(f"Early stopping {shown} percentile estimate", float(value), "ns", key)


def token_metric_from_detail(detail: DetailLog) -> Metric | None:
    """The token figure the summary would print (Tokens per second, Completed tokens per
    second, their inferred variants, or the first-token latency percentile)."""
    v, scenario = detail.values, detail.scenario
    if scenario in ("Offline", "Server"):
        prefix = "Completed t" if scenario == "Server" else "T"
        for name in (f"{prefix}okens per second", f"{prefix}okens per second (inferred)"):
            unit, key = THROUGHPUT_LINES[name]
            if key in v:
                return _metric(name, v[key], unit, key)
        return None
    pct = v.get("effective_target_latency_percentile")
    if scenario in ("SingleStream", "MultiStream") and isinstance(pct, int | float):
        p = f"{pct * 100:.2f}"
        key = percentile_key(p, None, first_token=True)
        if key in v:
            return _metric(
                f"{float(p):.1f}th first token percentile latency (ns)", v[key], "ns", key
            )
    return None


def _detail_first(
    from_summary: Metric | None, from_detail: Metric | None, detail: DetailLog | None
) -> Metric | None:
    """The summary's figure with the detail log's value when it holds the same key (the
    detail log keeps six significant digits where the summary may print two decimals)."""
    if from_summary is not None and detail is not None and from_summary.key:
        value = detail.value(from_summary.key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return Metric(from_summary.name, float(value), from_summary.unit, from_summary.key)
    return from_summary or from_detail


def _metric(name: str, value: Any, unit: str, key: str) -> Metric | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return Metric(name, float(value), unit, key)


# --- a run directory ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RunLogs:
    """The LoadGen files of one run directory, read together and checked against each other."""

    directory: str
    prefix: str = "mlperf_log_"
    summary: Summary | None = None
    detail: DetailLog | None = None
    accuracy: AccuracyLog | None = None
    trace_bytes: int | None = None  # None: no trace file
    own_problems: tuple[Problem, ...] = ()

    @property
    def scenario(self) -> str | None:
        return (self.summary and self.summary.scenario) or (self.detail and self.detail.scenario)

    @property
    def mode(self) -> str | None:
        return (self.summary and self.summary.mode) or (self.detail and self.detail.mode)

    @property
    def incomplete_reasons(self) -> tuple[str, ...]:
        """Why LoadGen's logs here are not a finished run; empty when `complete`."""
        s, d, a = self.summary, self.detail, self.accuracy
        out = []
        if s is None:
            out.append("no summary file (LoadGen writes it when a run ends)")
        elif s.incomplete_reason:
            out.append(s.incomplete_reason)
        if d is None:
            out.append("no detail log")
        elif d.incomplete_reason:
            out.append(d.incomplete_reason)
        if self.mode == "accuracy":
            if a is None or not a.opened:
                out.append("no accuracy log")
            elif not a.closed:
                out.append("the accuracy log has no closing ']'")
        return tuple(out)

    @property
    def complete(self) -> bool:
        """LoadGen finished: a complete summary (its `Result is` line, or the accuracy-mode
        footer) and a complete detail log; in accuracy mode also a closed accuracy log."""
        return not self.incomplete_reasons

    @property
    def validity(self) -> str | None:
        return (self.summary and self.summary.validity) or (self.detail and self.detail.validity)

    @property
    def validity_reasons(self) -> tuple[str, ...]:
        return validity_reasons(self.summary, self.detail)

    @property
    def headline(self) -> Metric | None:
        """The run's MLPerf figure: samples/s (Offline), completed samples/s (Server), the
        early-stopping latency estimate (SingleStream, MultiStream; the plain percentile only
        when LoadGen made no estimate). Values come from the detail log (six significant
        digits) before the summary's text (two decimals for Server)."""
        if self.scenario in EARLY_STOPPING_KEYS:
            estimate = early_stopping_from_detail(self.detail) if self.detail else None
            if estimate is None and self.summary and self.summary.early_stopping_estimate:
                estimate = self.summary.early_stopping_estimate
            return estimate or self.percentile
        return self._detail_value_first("headline", headline_from_detail)

    @property
    def percentile(self) -> Metric | None:
        """The summary's latency-percentile line (SingleStream, MultiStream), detail value
        first; None for the throughput scenarios."""
        if self.scenario not in EARLY_STOPPING_KEYS:
            return None
        return self._detail_value_first("headline", headline_from_detail)

    @property
    def token_metric(self) -> Metric | None:
        return self._detail_value_first("token_metric", token_metric_from_detail)

    def _detail_value_first(
        self, summary_line: str, from_detail: Callable[[DetailLog], Metric | None]
    ) -> Metric | None:
        """The summary's `summary_line` (its result line, or its token line), its value from
        the detail log first (`from_detail`)."""
        return _detail_first(
            getattr(self.summary, summary_line) if self.summary else None,
            from_detail(self.detail) if self.detail else None,
            self.detail,
        )

    @property
    def scheduled_rate(self) -> Metric | None:
        """Server's scheduled samples per second (the rate LoadGen issued at)."""
        if self.scenario != "Server":
            return None
        v = self.detail.value("result_scheduled_samples_per_sec") if self.detail else None
        if isinstance(v, int | float) and not isinstance(v, bool):
            return Metric(
                "Scheduled samples per second",
                float(v),
                "samples/s",
                "result_scheduled_samples_per_sec",
            )
        stat = (
            self.summary.additional_stats.get("Scheduled samples per second")
            if self.summary
            else None
        )
        if stat is None:
            return None
        return Metric(
            "Scheduled samples per second", stat, "samples/s", "result_scheduled_samples_per_sec"
        )

    @property
    def results(self) -> dict[str, Any]:
        """Every `result_*` / `early_stopping*` key of the detail log, under its own name."""
        return self.detail.results if self.detail else {}

    @property
    def samples_processed(self) -> int | None:
        """Samples LoadGen processed: detail result_query_count x samples per query; in
        accuracy mode the accuracy log's records, or, when that log was truncated for a
        submission, the loaded sets of a finished detail log (each sample is issued once);
        else the summary's early-stopping count. None when no file says."""
        if self.mode == "accuracy":
            a, d = self.accuracy, self.detail
            if a and a.opened and not a.truncated:
                return a.entries
            if d and d.complete and d.loaded_set_sizes:
                return sum(d.loaded_set_sizes)
            return None
        if self.detail and self.detail.samples_processed is not None:
            return self.detail.samples_processed
        return self.summary.samples_processed if self.summary else None

    @property
    def generated_total(self) -> int | None:
        return self.detail.generated_total if self.detail else None

    @property
    def loadgen_errors(self) -> tuple[tuple[str, Any], ...]:
        return self.detail.errors if self.detail else ()

    @property
    def loadgen_warnings(self) -> tuple[tuple[str, Any], ...]:
        return self.detail.warnings if self.detail else ()

    @property
    def problems(self) -> tuple[Problem, ...]:
        files = (self.summary, self.detail, self.accuracy)
        return self.own_problems + tuple(p for f in files if f for p in f.problems)

    def to_dict(self) -> dict[str, Any]:
        return json_safe(
            {
                "directory": self.directory,
                "prefix": self.prefix,
                "complete": self.complete,
                "incomplete_reasons": self.incomplete_reasons,
                "scenario": self.scenario,
                "mode": self.mode,
                "validity": self.validity,
                "validity_reasons": self.validity_reasons,
                "headline": self.headline,
                "percentile": self.percentile,
                "token_metric": self.token_metric,
                "scheduled_rate": self.scheduled_rate,
                "samples_processed": self.samples_processed,
                "generated_total": self.generated_total,
                "loadgen_errors": [[k, v] for k, v in self.loadgen_errors],
                "loadgen_warnings": [[k, v] for k, v in self.loadgen_warnings],
                "summary": self.summary,
                "detail": self.detail,
                "accuracy": self.accuracy,
                "trace_bytes": self.trace_bytes,
                "problems": list(self.problems),
            }
        )


def _agree(a: float, b: float) -> bool:
    # The summary rounds Server rates to 2 decimals; both files keep 6 significant digits.
    return abs(a - b) <= max(0.006, 2e-5 * max(abs(a), abs(b)))


def _cross_check(directory: str, s: Summary, d: DetailLog) -> list[Problem]:
    out: list[Problem] = []

    def disagree(what: str, a: Any, b: Any) -> None:
        out.append(
            Problem(directory, None, f"summary and detail log disagree on {what}: {a} vs {b}")
        )

    if s.scenario and d.scenario and s.scenario != d.scenario:
        disagree("the scenario", s.scenario, d.scenario)
    if s.mode and d.mode and s.mode != d.mode:
        disagree("the mode", s.mode, d.mode)
    if s.validity and d.validity and s.validity != d.validity:
        disagree("validity", s.validity, d.validity)
    for metric in (s.headline, s.token_metric):
        if metric and metric.key and isinstance(d.value(metric.key), int | float):
            if not _agree(metric.value, float(d.value(metric.key))):
                disagree(metric.name, metric.value, d.value(metric.key))
    if (
        s.queries_processed is not None
        and d.result_query_count is not None
        and s.queries_processed != d.result_query_count
    ):
        disagree("the processed query count", s.queries_processed, d.result_query_count)
    return out


def read_run_logs(directory: str | Path, prefix: str = "mlperf_log_") -> RunLogs:
    """Read the LoadGen files in `directory`. A missing summary or detail log is a problem; a
    missing accuracy log only in accuracy mode. Never raises."""
    directory = Path(directory)
    name = str(directory)
    own: list[Problem] = []
    if not directory.is_dir():
        return RunLogs(name, prefix, own_problems=(Problem(name, None, "not a directory"),))
    summary = detail = accuracy = None
    spath = directory / f"{prefix}summary.txt"
    dpath = directory / f"{prefix}detail.txt"
    apath = directory / f"{prefix}accuracy.json"
    tpath = directory / f"{prefix}trace.json"
    if spath.exists():
        summary = parse_summary(spath)
    else:
        own.append(
            Problem(
                str(spath),
                None,
                "file not found: LoadGen did not start, or wrote its logs elsewhere",
            )
        )
    if dpath.exists():
        detail = parse_detail(dpath)
    else:
        own.append(Problem(str(dpath), None, "file not found"))
    if apath.exists():
        accuracy = parse_accuracy(apath)
    elif (summary and summary.mode == "accuracy") or (detail and detail.mode == "accuracy"):
        own.append(Problem(str(apath), None, "file not found, but this is an accuracy run"))
    try:
        trace_bytes: int | None = tpath.stat().st_size
    except OSError:
        trace_bytes = None
    if summary and detail:
        own.extend(_cross_check(name, summary, detail))
    return RunLogs(name, prefix, summary, detail, accuracy, trace_bytes, tuple(own))
