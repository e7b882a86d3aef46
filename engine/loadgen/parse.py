"""Readers for the files LoadGen writes: the summary, the detail log and the accuracy log.

Every reader returns what it could read plus a tuple of `Problem`s; none raises on a missing,
empty, truncated, binary or partly corrupt file, because a run that crashed is exactly when a
user needs to look at its logs. Numbers are taken as the files print them (`float()`, so
LoadGen's scientific notation `2.24301e+07` works); a figure a file does not hold is None.

Formats: /work/shared/reference/mlperf-facts.md sections 1 and 2 (LoadGen 6.0.17, and 5.1 logs
seen in the field).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# --- shared records ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Something wrong or missing in a file. `line` is 1-based, None when it concerns the file."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "message": self.message}


@dataclass(frozen=True)
class Metric:
    """One LoadGen figure. `name` is the summary's wording, `key` the detail log's `result_*`
    key that holds the same figure (None when the detail log has no such key)."""

    name: str
    value: float
    unit: str  # "samples/s" | "tokens/s" | "ns" | "queries/s"
    key: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": json_safe(self.value), "unit": self.unit,
                "key": self.key}


def json_safe(value: Any) -> Any:
    """`value` with tuples as lists and non-finite floats as None, so json.dumps never writes
    NaN or Infinity (which are not JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


_MODES = {
    "PerformanceOnly": "performance",
    "AccuracyOnly": "accuracy",
    "SubmissionRun": "submission",
    "FindPeakPerformance": "find_peak_performance",
}


def normalise_mode(raw: str | None) -> str | None:
    """LoadGen's test mode word as mlconsole's mode ("performance", "accuracy"); an unknown word
    is returned unchanged."""
    if raw is None:
        return None
    return _MODES.get(raw, raw)


def read_text(path: Path, problems: list[Problem]) -> str | None:
    """The file as text, or None when it cannot be read. NUL bytes are dropped and bytes that
    are not UTF-8 replaced, each with a problem, so a corrupt file still yields its good lines."""
    name = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        problems.append(Problem(name, None, "file not found"))
        return None
    except IsADirectoryError:
        problems.append(Problem(name, None, "is a directory, not a log file"))
        return None
    except OSError as err:
        problems.append(Problem(name, None, f"cannot be read: {err.strerror or err}"))
        return None
    nul = data.count(b"\x00")
    if nul:
        problems.append(Problem(name, None, f"contains {nul} NUL bytes (binary or corrupt); "
                                            "they were skipped"))
        data = data.replace(b"\x00", b"")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        problems.append(Problem(name, None, f"is not valid UTF-8 (first bad byte at offset "
                                            f"{err.start}); bad bytes were replaced"))
        return data.decode("utf-8", "replace")


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _param_value(text: str) -> float | int | str:
    try:
        return int(text)
    except ValueError:
        pass
    value = _number(text)
    return text if value is None else value


# --- mlperf_log_summary.txt --------------------------------------------------------------------

_THROUGHPUT_LINES = {
    "Samples per second": ("samples/s", "result_samples_per_second"),
    "Completed samples per second": ("samples/s", "result_completed_samples_per_sec"),
    "Tokens per second": ("tokens/s", "result_tokens_per_second"),
    "Tokens per second (inferred)": ("tokens/s", "result_inferred_tokens_per_second"),
    "Completed tokens per second": ("tokens/s", "result_completed_tokens_per_second"),
    "Completed tokens per second (inferred)": (
        "tokens/s", "result_inferred_completed_tokens_per_second"),
}
_PERCENTILE = re.compile(r"(?P<p>\d+(?:\.\d+)?)th percentile latency \(ns\)")
_FIRST_TOKEN_PERCENTILE = re.compile(
    r"(?P<p>\d+(?:\.\d+)?)th first token percentile latency \(ns\)")
_CONDITIONS = {
    "Performance constraints satisfied": "performance_constraints",
    "Min duration satisfied": "min_duration",
    "Min queries satisfied": "min_queries",
    "Early stopping satisfied": "early_stopping",
}
_EARLY_STOPPING_TITLE = re.compile(r"^((?:TTFT |TPOT )?Early Stopping Result):\s*$")
_NAME_VALUE = re.compile(r"^(?P<name>[^:]*?)\s*:\s*(?P<value>.*?)\s*$")
_NO_WARNINGS = "No warnings encountered during test."
_NO_ERRORS = "No errors encountered during test."
_WARNINGS = re.compile(r"^(\d+) warnings? encountered\. See detailed log\.$")
_ERRORS = re.compile(r"^(\d+) ERRORS? encountered\. See detailed log\.$")
_PROCESSED = (
    re.compile(r"Processed at least \d+ queries \((\d+)\)"),
    re.compile(r"Only processed (\d+) queries"),
    re.compile(r"Processed (\d+) queries"),
)
_ESTIMATE = re.compile(r"Early stopping (\d+(?:\.\d+)?)th percentile estimate: (\S+)")
_TOKEN_NAMES = ("Tokens per second", "Tokens per second (inferred)",
                "Completed tokens per second", "Completed tokens per second (inferred)")
_HEADLINE_NAMES = {"Offline": "Samples per second", "Server": "Completed samples per second"}


def _percentile_key(percentile: str, scenario: str | None, first_token: bool = False) -> str:
    p = f"{float(percentile):.2f}"
    if first_token:
        return f"result_first_token_{p}_percentile_latency_ns"
    if scenario == "MultiStream":
        return f"result_{p}_percentile_per_query_latency_ns"
    return f"result_{p}_percentile_latency_ns"


@dataclass(frozen=True)
class Summary:
    """A parsed `mlperf_log_summary.txt`.

    `complete` means LoadGen finished writing it: a performance summary with its `Result is`
    line and the closing warning/error lines, or the footer alone of an accuracy-mode run.
    `queries_processed` is the count LoadGen printed in its early-stopping text (Server,
    SingleStream, MultiStream); Offline summaries print none.
    """

    path: str
    scenario: str | None = None
    mode: str | None = None
    sut_name: str | None = None
    headline: Metric | None = None
    token_metric: Metric | None = None
    metrics: tuple[Metric, ...] = ()
    validity: str | None = None
    conditions: dict[str, bool] = field(default_factory=dict)
    recommendations: tuple[str, ...] = ()
    early_stopping: dict[str, tuple[str, ...]] = field(default_factory=dict)
    early_stopping_estimate: Metric | None = None
    queries_processed: int | None = None
    additional_stats: dict[str, float] = field(default_factory=dict)
    test_parameters: dict[str, float | int | str] = field(default_factory=dict)
    notices: tuple[str, ...] = ()
    warnings_count: int | None = None
    errors_count: int | None = None
    accuracy_footer: bool = False
    complete: bool = False
    problems: tuple[Problem, ...] = ()

    @property
    def incomplete_reason(self) -> str | None:
        """Why the summary is not complete, in a few words; None when it is."""
        if self.complete:
            return None
        if self.validity is None and not self.accuracy_footer:
            if not self.metrics and self.scenario is None and self.warnings_count is None:
                return "the summary is empty or unreadable (LoadGen writes it when a run ends)"
            return "the summary has no 'Result is' line"
        return "the summary is cut off before its closing lines"

    @property
    def samples_per_query(self) -> int | None:
        value = self.test_parameters.get("samples_per_query")
        return value if isinstance(value, int) else None

    @property
    def samples_processed(self) -> int | None:
        """Samples LoadGen processed, from the early-stopping text's query count; None when the
        summary does not say (Offline, accuracy mode, an unfinished run)."""
        spq = self.samples_per_query
        if self.queries_processed is None or spq is None:
            return None
        return self.queries_processed * spq

    def to_dict(self) -> dict[str, Any]:
        return json_safe({
            "path": self.path, "scenario": self.scenario, "mode": self.mode,
            "sut_name": self.sut_name, "headline": self.headline,
            "token_metric": self.token_metric, "metrics": list(self.metrics),
            "validity": self.validity, "conditions": self.conditions,
            "recommendations": self.recommendations,
            "early_stopping": {k: list(v) for k, v in self.early_stopping.items()},
            "early_stopping_estimate": self.early_stopping_estimate,
            "queries_processed": self.queries_processed,
            "samples_processed": self.samples_processed,
            "additional_stats": self.additional_stats,
            "test_parameters": self.test_parameters, "notices": self.notices,
            "warnings_count": self.warnings_count, "errors_count": self.errors_count,
            "accuracy_footer": self.accuracy_footer, "complete": self.complete,
            "problems": list(self.problems),
        })


class _SummaryReader:
    """A line-by-line state machine over the summary's three sections and its footer."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.f: dict[str, Any] = {"conditions": {}, "early_stopping": {},
                                  "additional_stats": {}, "test_parameters": {}}
        self.metrics: list[Metric] = []
        self.recommendations: list[str] = []
        self.notices: list[str] = []
        self.problems: list[Problem] = []
        self.section = "preamble"
        self.block: list[str] | None = None  # bullets being collected
        self.notice: list[str] | None = None
        self.content_lines = 0

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))

    def feed(self, n: int, raw: str) -> None:
        line = raw.rstrip()
        text = line.strip()
        if not text:
            self.block = None
            if self.notice:
                self.notices.append(" ".join(self.notice))
                self.notice = None
            return
        if text.startswith("=") and set(text) == {"="}:
            return
        if self._footer(text):
            return
        self.content_lines += 1
        if text in ("MLPerf Results Summary", "Additional Stats", "Test Parameters Used"):
            self.section = {"MLPerf Results Summary": "results", "Additional Stats": "stats",
                            "Test Parameters Used": "params"}[text]
            self.block = None
            return
        if self.notice is not None:
            self.notice.append(text)
            return
        if text.startswith("WARNING:"):
            self.notice = [text]
            return
        if self.section == "results":
            self._results_line(n, line, text)
        elif self.section == "stats":
            self._stat_line(n, text)
        elif self.section == "params":
            self._param_line(n, text)
        else:
            self.problem(n, f"unexpected text before the summary's title: {text[:80]!r}")

    def _footer(self, text: str) -> bool:
        if text == _NO_WARNINGS:
            self.f["warnings_count"] = 0
        elif text == _NO_ERRORS:
            self.f["errors_count"] = 0
        elif m := _WARNINGS.match(text):
            self.f["warnings_count"] = int(m.group(1))
        elif m := _ERRORS.match(text):
            self.f["errors_count"] = int(m.group(1))
        else:
            return False
        return True

    def _results_line(self, n: int, line: str, text: str) -> None:
        if self.block is not None and line.startswith(" * "):
            self.block.append(text[2:].strip())
            return
        if self.block is not None and self.block and line.startswith(" "):
            self.block[-1] += " " + text  # a bullet's continuation line
            return
        if text == "Recommendations:":
            self.block = self.recommendations
            return
        if m := _EARLY_STOPPING_TITLE.match(text):
            self.block = self.f["early_stopping"].setdefault(m.group(1), [])
            return
        self.block = None
        m = _NAME_VALUE.match(text)
        if not m:
            self.problem(n, f"unrecognised line in the results section: {text[:80]!r}")
            return
        name, value = m.group("name"), m.group("value")
        if name in ("SUT name", "Scenario", "Mode"):
            self.f[{"SUT name": "sut_name", "Scenario": "scenario", "Mode": "mode"}[name]] = value
        elif name == "Result is":
            self.f["validity"] = value
        elif name in _CONDITIONS:
            if value.lower() not in ("yes", "no"):
                self.problem(n, f"{name!r} should be Yes or NO, not {value!r}")
            else:
                self.f["conditions"][_CONDITIONS[name]] = value.lower() == "yes"
        else:
            self._metric_line(n, name, value)

    def _metric_line(self, n: int, name: str, value: str) -> None:
        number = _number(value)
        if name in _THROUGHPUT_LINES:
            unit, key = _THROUGHPUT_LINES[name]
        elif m := _PERCENTILE.fullmatch(name):
            unit, key = "ns", _percentile_key(m.group("p"), self.f.get("scenario"))
        elif m := _FIRST_TOKEN_PERCENTILE.fullmatch(name):
            unit, key = "ns", _percentile_key(m.group("p"), None, first_token=True)
        else:
            self.problem(n, f"unrecognised line in the results section: {name!r}")
            return
        if number is None:
            self.problem(n, f"{name!r} has no number: {value!r}")
            return
        self.metrics.append(Metric(name, number, unit, key))

    def _stat_line(self, n: int, text: str) -> None:
        m = _NAME_VALUE.match(text)
        if not m:
            self.problem(n, f"unrecognised line in Additional Stats: {text[:80]!r}")
            return
        name, value = m.group("name"), m.group("value")
        if not value:  # a sub-header such as MultiStream's "Per-query latency:"
            return
        number = _number(value)
        if number is None:
            self.problem(n, f"{name!r} has no number: {value!r}")
            return
        self.f["additional_stats"].setdefault(name, number)

    def _param_line(self, n: int, text: str) -> None:
        m = _NAME_VALUE.match(text)
        if not m or not m.group("name"):
            self.problem(n, f"unrecognised line in Test Parameters Used: {text[:80]!r}")
            return
        self.f["test_parameters"][m.group("name")] = _param_value(m.group("value"))

    def finish(self, empty: bool) -> Summary:
        if self.notice:
            self.notices.append(" ".join(self.notice))
        f = self.f
        scenario = f.get("scenario")
        footer = f.get("warnings_count") is not None and f.get("errors_count") is not None
        accuracy_footer = footer and self.content_lines == 0
        mode = "accuracy" if accuracy_footer else normalise_mode(f.get("mode"))
        headline = token = None
        for metric in self.metrics:
            if metric.name in _TOKEN_NAMES or _FIRST_TOKEN_PERCENTILE.fullmatch(metric.name):
                token = token or metric
            elif scenario in _HEADLINE_NAMES:
                if metric.name == _HEADLINE_NAMES[scenario]:
                    headline = headline or metric
            else:
                headline = headline or metric
        early = {k: tuple(v) for k, v in f["early_stopping"].items()}
        complete = footer and (f.get("validity") is not None or accuracy_footer)
        if empty:
            self.problem(None, "is empty: LoadGen writes the summary only when a run ends "
                               "(the run is still going, or it crashed)")
        elif not accuracy_footer and f.get("validity") is None:
            self.problem(None, "has no 'Result is' line: the run did not finish, or the file "
                               "is cut off")
        elif not footer:
            self.problem(None, "ends before LoadGen's closing warning/error lines: the file "
                               "is cut off")
        return Summary(
            path=self.path, scenario=scenario, mode=mode, sut_name=f.get("sut_name"),
            headline=headline, token_metric=token, metrics=tuple(self.metrics),
            validity=f.get("validity"), conditions=dict(f["conditions"]),
            recommendations=tuple(self.recommendations), early_stopping=early,
            early_stopping_estimate=_estimate(early.get("Early Stopping Result", ()), scenario),
            queries_processed=_queries_processed(early.values()),
            additional_stats=dict(f["additional_stats"]),
            test_parameters=dict(f["test_parameters"]), notices=tuple(self.notices),
            warnings_count=f.get("warnings_count"), errors_count=f.get("errors_count"),
            accuracy_footer=accuracy_footer, complete=complete, problems=tuple(self.problems),
        )


def _queries_processed(blocks: Iterable[Iterable[str]]) -> int | None:
    for bullets in blocks:
        for bullet in bullets:
            for pattern in _PROCESSED:
                if m := pattern.search(bullet):
                    return int(m.group(1))
    return None


def _estimate(bullets: Iterable[str], scenario: str | None) -> Metric | None:
    """The early-stopping percentile estimate, the figure the submission checker reports for
    SingleStream (`early_stopping_latency_ss`) and MultiStream (`early_stopping_latency_ms`)."""
    for bullet in bullets:
        if (m := _ESTIMATE.search(bullet)) and (value := _number(m.group(2))) is not None:
            key = {"SingleStream": "early_stopping_latency_ss",
                   "MultiStream": "early_stopping_latency_ms"}.get(scenario or "")
            return Metric(f"Early stopping {m.group(1)}th percentile estimate", value, "ns", key)
    return None


def parse_summary(path: str | Path) -> Summary:
    """Parse a `mlperf_log_summary.txt`. Never raises; see `Summary.problems`."""
    path = Path(path)
    problems: list[Problem] = []
    text = read_text(path, problems)
    reader = _SummaryReader(str(path))
    reader.problems.extend(problems)
    if text is None:
        return Summary(path=str(path), problems=tuple(reader.problems))
    for n, line in enumerate(text.splitlines(), start=1):
        reader.feed(n, line)
    return reader.finish(empty=not text.strip())


# --- mlperf_log_detail.txt ---------------------------------------------------------------------

DETAIL_PREFIXES = (":::MLLOG", ":::ENDPTS")
# Keys LoadGen writes more than once in a normal run (accuracy mode repeats the whole
# loadable-set block); any other repeated key is reported, and its first value used, as the
# submission checker does.
_REPEATING_KEYS = frozenset({
    "generic_message", "loaded_qsl_set", "generated_query_count",
    "generated_samples_per_query", "generated_query_duration", "power_begin", "power_end",
    "warning_generic_message",
})


@dataclass(frozen=True)
class DetailEntry:
    key: str
    value: Any
    line: int
    time_ms: float | None = None
    is_error: bool = False
    is_warning: bool = False


@dataclass(frozen=True)
class DetailLog:
    """A parsed `mlperf_log_detail.txt`: every `:::MLLOG` (or `:::ENDPTS`) line, in order.

    `values` holds the first value of each key. `complete` means LoadGen finished the log: it
    wrote `num_errors` (its last line in performance mode), or, in accuracy mode where LoadGen
    writes no `num_errors`, every loadable set it started has ended and together they cover
    the accuracy sample count where the log states it.
    """

    path: str
    entries: tuple[DetailEntry, ...] = ()
    values: dict[str, Any] = field(default_factory=dict)
    errors: tuple[tuple[str, Any], ...] = ()
    warnings: tuple[tuple[str, Any], ...] = ()
    problems: tuple[Problem, ...] = ()

    def value(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def all_values(self, key: str) -> tuple[Any, ...]:
        return tuple(e.value for e in self.entries if e.key == key)

    def _int(self, key: str) -> int | None:
        value = self.values.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def scenario(self) -> str | None:
        return self.values.get("effective_scenario", self.values.get("requested_scenario"))

    @property
    def test_mode(self) -> str | None:
        """LoadGen's word, e.g. "PerformanceOnly"."""
        return self.values.get("effective_test_mode", self.values.get("requested_test_mode"))

    @property
    def mode(self) -> str | None:
        return normalise_mode(self.test_mode)

    @property
    def generated_query_count(self) -> int | None:
        return self._int("generated_query_count")

    @property
    def generated_samples_per_query(self) -> int | None:
        return self._int("generated_samples_per_query")

    @property
    def effective_samples_per_query(self) -> int | None:
        return self._int("effective_samples_per_query")

    @property
    def result_query_count(self) -> int | None:
        return self._int("result_query_count")

    @property
    def samples_per_query(self) -> int | None:
        """The samples per query LoadGen issued: `generated_samples_per_query` (equal-issue mode
        pads it beyond the setting), else `effective_samples_per_query`."""
        spq = self.generated_samples_per_query
        return spq if spq is not None else self.effective_samples_per_query

    @property
    def generated_total(self) -> int | None:
        """Samples LoadGen scheduled: generated queries x samples per query. In accuracy mode,
        the sum over the loadable sets logged so far."""
        counts = self.all_values("generated_query_count")
        spqs = self.all_values("generated_samples_per_query")
        pairs = [(c, s) for c, s in zip(counts, spqs, strict=False)
                 if isinstance(c, int) and isinstance(s, int)]
        if not pairs:
            return None
        if self.mode != "accuracy":
            pairs = pairs[:1]
        return sum(c * s for c, s in pairs)

    @property
    def accuracy_total(self) -> int | None:
        """The samples an accuracy-mode run will issue, when the log says: LoadGen 6 logs
        `effective_accuracy_sample_count`; otherwise a first loadable set that already covers
        the whole QSL is the total."""
        if self.mode != "accuracy":
            return None
        count = self._int("effective_accuracy_sample_count")
        if count is not None:
            return count
        first = self.generated_query_count
        total = self._int("qsl_reported_total_count")
        if first is not None and total is not None and first * (self.samples_per_query or 1) \
                >= total:
            return first * (self.samples_per_query or 1)
        return None

    @property
    def validity(self) -> str | None:
        return self.values.get("result_validity")

    @property
    def conditions(self) -> dict[str, bool]:
        keys = {"result_perf_constraints_met": "performance_constraints",
                "result_min_duration_met": "min_duration",
                "result_min_queries_met": "min_queries",
                "early_stopping_met": "early_stopping"}
        return {name: self.values[key] for key, name in keys.items()
                if isinstance(self.values.get(key), bool)}

    @property
    def invalid_reasons(self) -> tuple[str, ...]:
        """Sentences saying why LoadGen marked the run INVALID; empty unless INVALID."""
        if self.validity != "INVALID":
            return ()
        return _reasons(None, self)

    @property
    def complete(self) -> bool:
        if "num_errors" in self.values:
            return True
        if self.mode != "accuracy":
            return False
        started = len(self.all_values("generated_query_count"))
        ended = len(self.all_values("power_end"))
        if started == 0 or ended < started:
            return False
        count = self._int("effective_accuracy_sample_count")
        return count is None or self.generated_total == count

    @property
    def incomplete_reason(self) -> str | None:
        """Why the detail log is not complete, in a few words; None when it is."""
        if self.complete:
            return None
        if not self.entries:
            return "the detail log is empty or unreadable"
        if self.mode == "accuracy":
            return "the detail log ends before LoadGen finished its loadable sets"
        return "the detail log has no num_errors line (LoadGen writes it last)"

    @property
    def samples_processed(self) -> int | None:
        """Samples LoadGen processed in a finished performance run: result_query_count x
        samples per query (Offline: 1 query x its samples). None in accuracy mode (the
        accuracy log counts them) or before LoadGen wrote its results."""
        queries, spq = self.result_query_count, self.samples_per_query
        if self.mode == "accuracy" or queries is None or spq is None:
            return None
        return queries * spq

    def to_dict(self) -> dict[str, Any]:
        results = {k: v for k, v in self.values.items()
                   if k.startswith(("result_", "early_stopping"))}
        settings = {k: v for k, v in self.values.items() if k.startswith("effective_")}
        return json_safe({
            "path": self.path, "lines": len(self.entries), "complete": self.complete,
            "scenario": self.scenario, "mode": self.mode, "test_mode": self.test_mode,
            "loadgen_version": self.values.get("loadgen_version"),
            "sut_name": self.values.get("sut_name"), "validity": self.validity,
            "invalid_reasons": self.invalid_reasons,
            "generated_query_count": self.generated_query_count,
            "generated_samples_per_query": self.generated_samples_per_query,
            "effective_samples_per_query": self.effective_samples_per_query,
            "generated_total": self.generated_total,
            "result_query_count": self.result_query_count,
            "samples_processed": self.samples_processed,
            "num_errors": self.values.get("num_errors"),
            "settings": settings, "results": results,
            "errors": [[k, v] for k, v in self.errors],
            "warnings": [[k, v] for k, v in self.warnings],
            "problems": list(self.problems),
        })


def parse_detail_line(line: str) -> dict[str, Any] | None:
    """The JSON object of one `:::MLLOG {...}` / `:::ENDPTS {...}` line, or None when the line
    is not one (or its JSON is cut off)."""
    text = line.strip()
    for prefix in DETAIL_PREFIXES:
        if text.startswith(prefix):
            try:
                obj = json.loads(text[len(prefix):])
            except ValueError:
                return None
            return obj if isinstance(obj, dict) and isinstance(obj.get("key"), str) else None
    return None


def parse_detail(path: str | Path) -> DetailLog:
    """Parse a `mlperf_log_detail.txt`. Never raises; see `DetailLog.problems`."""
    path = Path(path)
    name = str(path)
    problems: list[Problem] = []
    text = read_text(path, problems)
    if text is None:
        return DetailLog(path=name, problems=tuple(problems))
    if not text.strip():
        problems.append(Problem(name, None, "is empty: LoadGen had not started logging"))
    entries: list[DetailEntry] = []
    values: dict[str, Any] = {}
    counts: dict[str, int] = {}
    first_line: dict[str, int] = {}
    lines = text.splitlines()
    cut_off = bool(text) and not text.endswith("\n")
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        obj = parse_detail_line(line)
        if obj is None:
            if n == len(lines) and cut_off:
                problems.append(Problem(name, n, "the last line is cut off (the log is still "
                                                 "being written, or was truncated)"))
            elif line.lstrip().startswith(DETAIL_PREFIXES):
                problems.append(Problem(name, n, "not valid JSON after the :::MLLOG prefix"))
            else:
                problems.append(Problem(name, n, f"not a LoadGen log line: {line[:60]!r}"))
            continue
        key = obj["key"]
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        time_ms = obj.get("time_ms")
        entry = DetailEntry(
            key=key, value=obj.get("value"), line=n,
            time_ms=float(time_ms) if isinstance(time_ms, int | float) else None,
            is_error=meta.get("is_error") is True, is_warning=meta.get("is_warning") is True)
        entries.append(entry)
        counts[key] = counts.get(key, 0) + 1
        if key not in values:
            values[key] = entry.value
            first_line[key] = n
    for key, count in counts.items():
        if count > 1 and key not in _REPEATING_KEYS and not key.startswith(("error_", "logger_")):
            problems.append(Problem(name, first_line[key], f"key {key!r} appears {count} times; "
                                                           "the first value is used"))
    return DetailLog(
        path=name, entries=tuple(entries), values=values,
        errors=tuple((e.key, e.value) for e in entries if e.is_error),
        warnings=tuple((e.key, e.value) for e in entries if e.is_warning),
        problems=tuple(problems))


# --- mlperf_log_accuracy.json ------------------------------------------------------------------

_JSON_CHECK_LIMIT = 16 << 20  # whole-file JSON validation only below this size


@dataclass(frozen=True)
class AccuracyLog:
    """`mlperf_log_accuracy.json`: `entries` counts sample records line by line, so a file
    still being written (`[` and some records, no closing `]`) is counted too."""

    path: str
    entries: int = 0
    opened: bool = False
    closed: bool = False
    size_bytes: int | None = None
    problems: tuple[Problem, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"path": self.path, "entries": self.entries, "opened": self.opened,
                          "closed": self.closed, "size_bytes": self.size_bytes,
                          "problems": list(self.problems)})


def parse_accuracy(path: str | Path) -> AccuracyLog:
    """Count the records of an accuracy log without loading it whole (it can be gigabytes).
    Never raises; see `AccuracyLog.problems`."""
    path = Path(path)
    name = str(path)
    problems: list[Problem] = []
    entries = 0
    first = last = b""
    nul_lines = 0
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            for raw in fh:
                stripped = raw.strip()
                if not stripped:
                    continue
                if b"\x00" in stripped:
                    nul_lines += 1
                    stripped = stripped.replace(b"\x00", b"").strip()
                    if not stripped:
                        continue
                first = first or stripped[:1]
                last = stripped[-1:]
                if stripped.startswith(b"{"):
                    entries += 1
    except FileNotFoundError:
        return AccuracyLog(name, problems=(Problem(name, None, "file not found"),))
    except OSError as err:
        return AccuracyLog(name, problems=(Problem(name, None,
                                                   f"cannot be read: {err.strerror or err}"),))
    if nul_lines:
        problems.append(Problem(name, None, f"{nul_lines} lines contain NUL bytes (binary or "
                                            "corrupt)"))
    opened, closed = first == b"[", last == b"]"
    if size == 0:
        problems.append(Problem(name, None, "is empty: LoadGen had not opened it yet"))
    elif not opened:
        problems.append(Problem(name, None, "does not start with '[': not a LoadGen accuracy "
                                            "log"))
    elif not closed:
        problems.append(Problem(name, None, "has no closing ']': the run is still going, or "
                                            "it stopped early"))
    elif size <= _JSON_CHECK_LIMIT and not nul_lines:
        try:
            records = json.loads(path.read_bytes())
        except (ValueError, OSError):
            problems.append(Problem(name, None, "is not valid JSON although it is closed"))
        else:
            if not isinstance(records, list) or len(records) != entries:
                problems.append(Problem(name, None, "its JSON does not hold one record per "
                                                    "line"))
    return AccuracyLog(name, entries=entries, opened=opened, closed=closed, size_bytes=size,
                       problems=tuple(problems))


# --- figures from the detail log, and why a run is INVALID -------------------------------------


def headline_from_detail(detail: DetailLog) -> Metric | None:
    """The scenario's headline as the detail log holds it, named like the summary line."""
    v, scenario = detail.values, detail.scenario
    if scenario in _HEADLINE_NAMES:
        name = _HEADLINE_NAMES[scenario]
        unit, key = _THROUGHPUT_LINES[name]
        return _metric(name, v.get(key), unit, key)
    if scenario in ("SingleStream", "MultiStream"):
        pct = v.get("effective_target_latency_percentile")
        if not isinstance(pct, int | float):
            return None
        p = f"{pct * 100:.2f}"
        key = _percentile_key(p, scenario)
        return _metric(f"{float(p):.1f}th percentile latency (ns)", v.get(key), "ns", key)
    return None


def token_metric_from_detail(detail: DetailLog) -> Metric | None:
    """The token figure the summary would print (Tokens per second, Completed tokens per
    second, their inferred variants, or the first-token latency percentile)."""
    v, scenario = detail.values, detail.scenario
    if scenario in ("Offline", "Server"):
        prefix = "Completed t" if scenario == "Server" else "T"
        for name in (f"{prefix}okens per second", f"{prefix}okens per second (inferred)"):
            unit, key = _THROUGHPUT_LINES[name]
            if key in v:
                return _metric(name, v[key], unit, key)
        return None
    pct = v.get("effective_target_latency_percentile")
    if scenario in ("SingleStream", "MultiStream") and isinstance(pct, int | float):
        p = f"{pct * 100:.2f}"
        key = _percentile_key(p, None, first_token=True)
        if key in v:
            return _metric(f"{float(p):.1f}th first token percentile latency (ns)", v[key],
                           "ns", key)
    return None


def _metric(name: str, value: Any, unit: str, key: str) -> Metric | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return Metric(name, float(value), unit, key)


def _ms(ns: Any) -> str:
    return f"{ns / 1e6:g} ms" if isinstance(ns, int | float) else "?"


def _reasons(summary: Summary | None, detail: DetailLog | None) -> tuple[str, ...]:
    conditions = dict(detail.conditions) if detail else {}
    if summary:
        conditions.update(summary.conditions)
    params = summary.test_parameters if summary else {}
    dv = detail.values if detail else {}
    out: list[str] = []
    if conditions.get("performance_constraints") is False:
        if "ttft_latency (ns)" in params or "requested_server_ttft_latency" in dv:
            ttft = params.get("ttft_latency (ns)", dv.get("requested_server_ttft_latency"))
            tpot = params.get("tpot_latency (ns)", dv.get("requested_server_tpot_latency"))
            out.append("Latency constraint not met: the 99th percentile time to first token "
                       f"(bound {_ms(ttft)}) or time per output token (bound {_ms(tpot)}) is "
                       "too high.")
        else:
            bound = params.get("target_latency (ns)", dv.get("effective_target_latency_ns"))
            out.append("Latency constraint not met: the target percentile latency is above "
                       f"target_latency ({_ms(bound)}).")
    if conditions.get("min_duration") is False:
        ms = params.get("min_duration (ms)", dv.get("effective_min_duration_ms"))
        out.append(f"Minimum duration not met: the run was shorter than min_duration ({ms} ms).")
    if conditions.get("min_queries") is False:
        n = params.get("min_query_count", dv.get("effective_min_query_count"))
        out.append(f"Minimum query count not met: fewer than min_query_count ({n}) queries.")
    if conditions.get("early_stopping") is False:
        blocks = summary.early_stopping.values() if summary and summary.early_stopping else [
            [b.strip() for b in str(dv.get(k, "")).split(" * ") if b.strip()]
            for k in ("early_stopping_result", "early_stopping_ttft_result",
                      "early_stopping_tpot_result")]
        said = " ".join(" ".join(b.split()) for bullets in blocks for b in bullets)
        out.append("Early stopping not satisfied" + (f": {said}" if said else "."))
    reason = dv.get("result_invalid_reason")
    if isinstance(reason, str) and reason.strip():
        out.append(f"LoadGen says: {reason.strip()}")
    for rec in summary.recommendations if summary else ():
        out.append(f"LoadGen recommends: {rec}")
    if not out:
        out.append("LoadGen marked the run INVALID without saying why.")
    return tuple(out)


def validity_reasons(summary: Summary | None, detail: DetailLog | None) -> tuple[str, ...]:
    """Human sentences for why a run is INVALID, from the failed sub-conditions, the early
    stopping text and LoadGen's recommendations. Empty unless the run is INVALID."""
    validity = (summary.validity if summary else None) or (detail.validity if detail else None)
    if validity != "INVALID":
        return ()
    return _reasons(summary, detail)


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
        if self.summary and self.summary.headline:
            return self.summary.headline
        return headline_from_detail(self.detail) if self.detail else None

    @property
    def token_metric(self) -> Metric | None:
        if self.summary and self.summary.token_metric:
            return self.summary.token_metric
        return token_metric_from_detail(self.detail) if self.detail else None

    @property
    def samples_processed(self) -> int | None:
        """Samples LoadGen processed: detail result_query_count x samples per query; in
        accuracy mode the accuracy log's records; else the summary's early-stopping count.
        None when no file says."""
        if self.mode == "accuracy":
            return self.accuracy.entries if self.accuracy and self.accuracy.opened else None
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
        return json_safe({
            "directory": self.directory, "prefix": self.prefix, "complete": self.complete,
            "incomplete_reasons": self.incomplete_reasons,
            "scenario": self.scenario, "mode": self.mode, "validity": self.validity,
            "validity_reasons": self.validity_reasons, "headline": self.headline,
            "token_metric": self.token_metric, "samples_processed": self.samples_processed,
            "generated_total": self.generated_total,
            "loadgen_errors": [[k, v] for k, v in self.loadgen_errors],
            "loadgen_warnings": [[k, v] for k, v in self.loadgen_warnings],
            "summary": self.summary, "detail": self.detail, "accuracy": self.accuracy,
            "trace_bytes": self.trace_bytes, "problems": list(self.problems),
        })


def _agree(a: float, b: float) -> bool:
    # The summary rounds Server rates to 2 decimals; both files keep 6 significant digits.
    return abs(a - b) <= max(0.006, 2e-5 * max(abs(a), abs(b)))


def _cross_check(directory: str, s: Summary, d: DetailLog) -> list[Problem]:
    out: list[Problem] = []

    def disagree(what: str, a: Any, b: Any) -> None:
        out.append(Problem(directory, None, f"summary and detail log disagree on {what}: "
                                            f"{a} vs {b}"))

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
    if s.queries_processed is not None and d.result_query_count is not None \
            and s.queries_processed != d.result_query_count:
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
        own.append(Problem(str(spath), None, "file not found: LoadGen did not start, or wrote "
                                             "its logs elsewhere"))
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
