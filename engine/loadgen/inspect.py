"""`mlconsole inspect PATH`: what a run directory or a single LoadGen file says, for humans and
for `--json`.

A file's kind is told by its content, not its name: real pipelines name a detail log
`*_performance.txt`. The figures come from `engine.loadgen.parse`; this module only chooses
what to show and phrases it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.loadgen.parse import (
    DETAIL_PREFIXES,
    AccuracyLog,
    DetailLog,
    Problem,
    RunLogs,
    Summary,
    json_safe,
    parse_accuracy,
    parse_detail,
    parse_summary,
    read_run_logs,
)
from engine.loadgen.progress import TraceProgress
from engine.loadgen.validity import early_stopping_texts

_SNIFF_BYTES = 64 << 10

# (shown name, detail key, summary test-parameter name)
_SETTINGS = (
    ("target_qps", "effective_target_qps", "target_qps"),
    ("samples_per_query", "effective_samples_per_query", "samples_per_query"),
    ("min_duration_ms", "effective_min_duration_ms", "min_duration (ms)"),
    ("max_duration_ms", "effective_max_duration_ms", "max_duration (ms)"),
    ("min_query_count", "effective_min_query_count", "min_query_count"),
    ("max_query_count", "effective_max_query_count", "max_query_count"),
    ("performance_sample_count", "effective_performance_sample_count", "performance_sample_count"),
    ("sample_concatenate_permutation", "effective_sample_concatenate_permutation", None),
)


# A file that is not a LoadGen log has a problem on every line: show the first ones and count.
PROBLEMS_SHOWN = 20


def sniff_kind(path: Path) -> str:
    """ "summary", "detail", "accuracy", "trace", "empty" or "unknown", from the first bytes."""
    try:
        with path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError:
        return "unknown"
    text = head.replace(b"\x00", b"").decode("utf-8", "replace").lstrip()
    if not text:
        return "empty"
    if text.startswith(DETAIL_PREFIXES):
        return "detail"
    if text.startswith('{"traceEvents"'):
        return "trace"
    if text.startswith("["):
        return "accuracy"
    markers = (
        "MLPerf Results Summary",
        "No warnings encountered during test.",
        "warnings encountered. See detailed log.",
        "warning encountered. See detailed log.",
    )
    if any(m in text for m in markers):
        return "summary"
    return "unknown"


def _run_prefix(directory: Path) -> str:
    if (directory / "mlperf_log_summary.txt").exists() or (
        directory / "mlperf_log_detail.txt"
    ).exists():
        return "mlperf_log_"
    prefixes = {
        p.name[: -len(tail)]
        for tail in ("summary.txt", "detail.txt")
        for p in directory.glob(f"*{tail}")
    }
    return prefixes.pop() if len(prefixes) == 1 else "mlperf_log_"


def _settings(summary: Summary | None, detail: DetailLog | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for shown, key, param in _SETTINGS:
        if detail is not None and key in detail.values:
            out[shown] = detail.values[key]
        elif summary is not None and param and param in summary.test_parameters:
            out[shown] = summary.test_parameters[param]
    return out


def _notes(d: dict[str, Any], summary: Summary | None, detail: DetailLog | None) -> list[str]:
    notes: list[str] = []
    processed, generated = d["samples_processed"], d["generated_total"]
    queries = d["queries"]
    done_queries = queries.get("result_query_count") or queries.get("queries_processed")
    cap = d["settings"].get("max_query_count")
    if isinstance(cap, int) and cap > 0 and isinstance(done_queries, int) and done_queries >= cap:
        notes.append(f"The run stopped at max_query_count: LoadGen issued {cap} queries.")
    if processed is not None and generated is not None and processed != generated:
        notes.append(f"LoadGen processed {processed} of the {generated} samples it generated.")
    if processed is None and d["mode"] == "accuracy":
        notes.append(
            "In accuracy mode only mlperf_log_accuracy.json counts the samples "
            "LoadGen processed, and it is not here."
        )
    elif processed is None:
        notes.append(
            "How many samples LoadGen processed is unknown: no file here holds its results."
        )
    if detail is not None and detail.mode == "accuracy" and detail.accuracy_total is not None:
        notes.append(
            f"Accuracy mode: LoadGen issues each of the {detail.accuracy_total} "
            "samples once; the accuracy log counts those completed."
        )
    if d.get("accuracy_truncated"):
        notes.append(
            "The accuracy log was truncated for submission (truncate_accuracy_log.py keeps "
            "its first and last 4 KB; accuracy.txt holds the hash of the whole file), so its "
            "records do not count the samples."
        )
    if summary is not None:
        notes.extend(summary.notices)
    return notes


def _from_logs(kind: str, path: Path, logs: RunLogs, incomplete: tuple[str, ...]) -> dict[str, Any]:
    s, dt = logs.summary, logs.detail
    queries = {
        "generated_query_count": dt.generated_query_count if dt else None,
        "generated_samples_per_query": dt.generated_samples_per_query if dt else None,
        "loadable_sets": len(dt.all_values("generated_query_count")) if dt else None,
        "loaded_set_sizes": list(dt.loaded_set_sizes) if dt else [],
        "result_query_count": dt.result_query_count if dt else None,
        "queries_processed": s.queries_processed if s else None,
    }
    d: dict[str, Any] = {
        "kind": kind,
        "path": str(path),
        "complete": not incomplete,
        "incomplete_reasons": list(incomplete),
        "scenario": logs.scenario,
        "mode": logs.mode,
        "sut_name": (s.sut_name if s else None) or (dt.value("sut_name") if dt else None),
        "loadgen_version": dt.value("loadgen_version") if dt else None,
        "validity": logs.validity,
        "validity_reasons": list(logs.validity_reasons),
        "headline": logs.headline,
        "percentile": logs.percentile,
        "token_metric": logs.token_metric,
        "scheduled_rate": logs.scheduled_rate,
        "early_stopping": list(early_stopping_texts(s, dt)),
        "samples_processed": logs.samples_processed,
        "generated_total": logs.generated_total,
        "accuracy_total": dt.accuracy_total if dt else None,
        "queries": queries,
        "settings": _settings(s, dt),
        "errors_count": len(dt.errors) if dt else (s.errors_count if s else None),
        "warnings_count": len(dt.warnings) if dt else (s.warnings_count if s else None),
        "loadgen_errors": [[k, v] for k, v in logs.loadgen_errors],
        "loadgen_warnings": [[k, v] for k, v in logs.loadgen_warnings],
        "accuracy_entries": logs.accuracy.entries if logs.accuracy else None,
        "accuracy_truncated": bool(logs.accuracy and logs.accuracy.truncated),
        "trace_bytes": logs.trace_bytes,
        "results": logs.results,
        "problems": list(logs.problems),
    }
    d["notes"] = _notes(d, s, dt)
    return json_safe(d)


def inspect_path(path: Path) -> dict[str, Any]:
    """What a run directory or one LoadGen file says, as a JSON-safe dict. Never raises: a
    missing or unreadable path gives kind "missing"/"unknown" and a problem."""
    path = Path(path)
    if path.is_dir():
        prefix = _run_prefix(path)
        logs = read_run_logs(path, prefix)
        d = _from_logs("run_dir", path, logs, logs.incomplete_reasons)
        if not logs.complete and logs.trace_bytes:
            # LoadGen's results are missing, but the trace shows how far the run got.
            done = _count_trace(path / f"{prefix}trace.json")
            d["trace_samples_completed"] = done
            d["notes"].append(f"The trace records {done} completed samples before the logs end.")
        return d
    if not path.exists():
        return _bare("missing", path, [Problem(str(path), None, "no such file or directory")])
    kind = sniff_kind(path)
    if kind == "summary":
        summary = parse_summary(path)
        reason = summary.incomplete_reason
        return _from_logs(
            kind, path, RunLogs(str(path.parent), summary=summary), (reason,) if reason else ()
        )
    if kind == "detail":
        detail = parse_detail(path)
        reason = detail.incomplete_reason
        return _from_logs(
            kind, path, RunLogs(str(path.parent), detail=detail), (reason,) if reason else ()
        )
    if kind == "accuracy":
        acc: AccuracyLog = parse_accuracy(path)
        d = _bare(kind, path, list(acc.problems), complete=acc.closed)
        if not acc.closed:
            d["incomplete_reasons"] = ["the accuracy log has no closing ']'"]
        d.update(
            mode="accuracy",
            samples_processed=None if acc.truncated else acc.entries,
            accuracy_entries=acc.entries,
            accuracy_truncated=acc.truncated,
        )
        return json_safe(d)
    if kind == "trace":
        return _inspect_trace(path)
    message = (
        "is empty"
        if kind == "empty"
        else "is not a LoadGen summary, detail log, accuracy log or trace"
    )
    return _bare(kind, path, [Problem(str(path), None, message)])


def _bare(
    kind: str, path: Path, problems: list[Problem], complete: bool | None = None
) -> dict[str, Any]:
    return json_safe(
        {
            "kind": kind,
            "path": str(path),
            "complete": complete,
            "incomplete_reasons": [],
            "scenario": None,
            "mode": None,
            "sut_name": None,
            "loadgen_version": None,
            "validity": None,
            "validity_reasons": [],
            "headline": None,
            "percentile": None,
            "token_metric": None,
            "scheduled_rate": None,
            "early_stopping": [],
            "samples_processed": None,
            "generated_total": None,
            "accuracy_total": None,
            "queries": {},
            "settings": {},
            "errors_count": None,
            "warnings_count": None,
            "loadgen_errors": [],
            "loadgen_warnings": [],
            "accuracy_entries": None,
            "accuracy_truncated": False,
            "trace_bytes": None,
            "results": {},
            "problems": problems,
            "notes": [],
        }
    )


def _count_trace(path: Path) -> int | None:
    """Completed samples in a trace file, None when it cannot be read."""
    progress = TraceProgress()
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            progress.feed(fh)
    except OSError:
        return None
    return progress.completed


def _inspect_trace(path: Path) -> dict[str, Any]:
    done = _count_trace(path)
    problems = [] if done is not None else [Problem(str(path), None, "cannot be read")]
    d = _bare("trace", path, problems)
    d.update(samples_processed=done, trace_bytes=path.stat().st_size if done is not None else None)
    if done is not None:
        d["notes"] = [f"The trace records {done} completed samples."]
    return d


# --- for humans --------------------------------------------------------------------------------

_KIND_LABEL = {
    "run_dir": "run directory",
    "summary": "LoadGen summary",
    "detail": "LoadGen detail log",
    "accuracy": "LoadGen accuracy log",
    "trace": "LoadGen trace",
    "empty": "empty file",
    "unknown": "not a LoadGen file",
    "missing": "not found",
}


def format_metric(metric: dict[str, Any] | None) -> str:
    """'Completed samples per second: 49.13 samples/s'; latencies also in ms."""
    if not metric:
        return "missing"
    value, unit = metric.get("value"), metric.get("unit", "")
    if value is None:
        return f"{metric.get('name')}: missing"
    if unit == "ns":
        shown = f"{value:,.0f} ns ({value / 1e6:.4g} ms)"
    elif abs(value) >= 1e6:
        shown = f"{value:,.0f} {unit}"
    else:  # LoadGen's own precision: six significant digits
        shown = f"{value:,.6g} {unit}"
    return f"{metric.get('name')}: {shown}"


def format_inspection(d: dict[str, Any]) -> str:
    """The dict from `inspect_path` as a few readable lines."""
    lines = [f"{d.get('path')}  ({_KIND_LABEL.get(d.get('kind', ''), d.get('kind'))})"]
    facts = [
        f"{label} {d[k]}"
        for label, k in (
            ("scenario", "scenario"),
            ("mode", "mode"),
            ("SUT", "sut_name"),
            ("LoadGen", "loadgen_version"),
        )
        if d.get(k)
    ]
    if facts:
        lines.append("  " + ", ".join(facts))
    complete = d.get("complete")
    if complete is not None:
        reasons = "; ".join(d.get("incomplete_reasons") or [])
        lines.append(
            "  Status: "
            + ("complete" if complete else f"INCOMPLETE: {reasons or 'LoadGen did not finish'}")
        )
    if d.get("headline") or d.get("mode") == "performance":
        lines.append(f"  LoadGen metric: {format_metric(d.get('headline'))}")
    if d.get("percentile") and d["percentile"] != d.get("headline"):
        lines.append(f"  Percentile: {format_metric(d['percentile'])}")
    if d.get("token_metric"):
        lines.append(f"  Token metric: {format_metric(d['token_metric'])}")
    if d.get("scheduled_rate"):
        lines.append(f"  Scheduled: {format_metric(d['scheduled_rate'])}")
    if d.get("validity"):
        lines.append(f"  Validity: {d['validity']}")
        lines.extend(f"    - {reason}" for reason in d.get("validity_reasons", []))
    for text in d.get("early_stopping") or []:
        lines.append(f"  Early stopping: {text}")
    q = d.get("queries") or {}
    sizes = q.get("loaded_set_sizes") or []
    if d.get("mode") == "accuracy" and sizes:
        sets = "set" if len(sizes) == 1 else "sets"
        lines.append(
            f"  Samples scheduled: {d.get('generated_total')} in {len(sizes)} loadable {sets}"
        )
    elif (q.get("loadable_sets") or 0) > 1:
        lines.append(
            f"  Samples scheduled: {d.get('generated_total')} in {q['loadable_sets']} loadable sets"
        )
    elif q.get("generated_query_count") is not None:
        lines.append(
            f"  Queries generated: {q['generated_query_count']} x "
            f"{q.get('generated_samples_per_query')} samples per query = "
            f"{d.get('generated_total')} samples scheduled"
        )
    done = q.get("result_query_count") or q.get("queries_processed")
    if done is not None:
        lines.append(f"  Queries processed: {done}")
    processed = d.get("samples_processed")
    lines.append("  Samples processed: " + ("unknown" if processed is None else str(processed)))
    if d.get("kind") == "run_dir" and (d.get("accuracy_entries") or d.get("mode") == "accuracy"):
        shown = d["accuracy_entries"]
        if d.get("accuracy_truncated"):
            shown = f"{shown} (truncated for submission)"
        lines.append(f"  Accuracy log records: {shown}")
    if d.get("settings"):
        lines.append("  Settings: " + ", ".join(f"{k} {v}" for k, v in d["settings"].items()))
    errors = d.get("loadgen_errors") or []
    if errors:
        lines.append(f"  LoadGen errors ({len(errors)}):")
        lines.extend(f"    - {k}: {v}" for k, v in errors)
    elif d.get("errors_count"):
        lines.append(f"  LoadGen errors: {d['errors_count']} (listed in the detail log)")
    warnings = d.get("loadgen_warnings") or []
    if warnings:
        lines.append(f"  LoadGen warnings ({len(warnings)}):")
        lines.extend(f"    - {k}: {v}" for k, v in warnings)
    for note in d.get("notes") or []:
        lines.append(f"  Note: {note}")
    problems = d.get("problems") or []
    if problems:
        lines.append(f"  Problems ({len(problems)}):")
        for p in problems[:PROBLEMS_SHOWN]:
            where = p.get("file", "")
            if p.get("line") is not None:
                where += f":{p['line']}"
            lines.append(f"    - {where}: {p.get('message')}")
        if len(problems) > PROBLEMS_SHOWN:
            lines.append(
                f"    ... and {len(problems) - PROBLEMS_SHOWN:,} more "
                f"({len(problems):,} in all; --json lists every one)"
            )
    return "\n".join(lines)
