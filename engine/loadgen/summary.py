"""`mlperf_log_summary.txt`: LoadGen's human-readable result, written all at once at the end.

Numbers are taken as the file prints them (`float()`, so LoadGen's scientific notation
`2.24301e+07` works); a figure the file does not hold is None. Format:
/work/shared/reference/mlperf-facts.md section 1 (LoadGen 6.0.17, and 5.1 logs seen in the field).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.loadgen.records import Metric, Problem, normalise_mode, read_text, record_dict


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


THROUGHPUT_LINES = {
    "Samples per second": ("samples/s", "result_samples_per_second"),
    "Completed samples per second": ("samples/s", "result_completed_samples_per_sec"),
    # In Additional Stats since LoadGen 1.x; older summaries print it among the results.
    "Scheduled samples per second": ("samples/s", "result_scheduled_samples_per_sec"),
    "Tokens per second": ("tokens/s", "result_tokens_per_second"),
    "Tokens per second (inferred)": ("tokens/s", "result_inferred_tokens_per_second"),
    "Completed tokens per second": ("tokens/s", "result_completed_tokens_per_second"),
    "Completed tokens per second (inferred)": (
        "tokens/s",
        "result_inferred_completed_tokens_per_second",
    ),
}
_PERCENTILE = re.compile(r"(?P<p>\d+(?:\.\d+)?)th percentile latency \(ns\)")
_FIRST_TOKEN_PERCENTILE = re.compile(
    r"(?P<p>\d+(?:\.\d+)?)th first token percentile latency \(ns\)"
)
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
_TOKEN_NAMES = (
    "Tokens per second",
    "Tokens per second (inferred)",
    "Completed tokens per second",
    "Completed tokens per second (inferred)",
)
HEADLINE_NAMES = {"Offline": "Samples per second", "Server": "Completed samples per second"}
# Additional Stats lines and the detail-log keys holding the same figure.
_STAT_KEYS = {
    "QPS w/ loadgen overhead": "result_qps_with_loadgen_overhead",
    "QPS w/o loadgen overhead": "result_qps_without_loadgen_overhead",
    "TPS w/ loadgen overhead": "result_token_throughput_with_loadgen_overhead",
    "Min First Token latency (ns)": "result_first_token_min_latency_ns",
    "Max First Token latency (ns)": "result_first_token_max_latency_ns",
    "Mean First Token latency (ns)": "result_first_token_mean_latency_ns",
    "Min Time to Output Token (ns)": "result_time_to_output_token_min",
    "Max Time to Output Token (ns)": "result_time_to_output_token_max",
    "Mean Time to Output Token (ns)": "result_time_to_output_token_mean",
}
_STAT_PERCENTILE = re.compile(
    r"(?P<p>\d+\.\d+) percentile (?P<what>latency|first token latency|time to output token) \(ns\)"
)
_STAT_LATENCY = re.compile(r"(?P<which>Min|Max|Mean) latency \(ns\)")


def stat_key(name: str, scenario: str | None) -> str | None:
    """The detail-log key of an Additional Stats line, None for a line without one.
    MultiStream's latency block is per query (`result_*_query_latency_ns`)."""
    if name in _STAT_KEYS:
        return _STAT_KEYS[name]
    if name in THROUGHPUT_LINES:
        return THROUGHPUT_LINES[name][1]
    if m := _STAT_LATENCY.fullmatch(name):
        which = m.group("which").lower()
        return (
            f"result_{which}_query_latency_ns"
            if scenario == "MultiStream"
            else f"result_{which}_latency_ns"
        )
    if m := _STAT_PERCENTILE.fullmatch(name):
        p, what = m.group("p"), m.group("what")
        if what == "first token latency":
            return f"result_first_token_{p}_percentile_latency_ns"
        if what == "time to output token":  # LoadGen's wording for time per output token
            return f"result_time_per_output_token_{p}_percentile_ns"
        return percentile_key(p, scenario)
    return None


def percentile_key(percentile: str, scenario: str | None, first_token: bool = False) -> str:
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
        return record_dict(
            self, after="queries_processed", samples_processed=self.samples_processed
        )


class _SummaryReader:
    """A line-by-line state machine over the summary's three sections and its footer."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.f: dict[str, Any] = {
            "conditions": {},
            "early_stopping": {},
            "additional_stats": {},
            "test_parameters": {},
        }
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
            self.section = {
                "MLPerf Results Summary": "results",
                "Additional Stats": "stats",
                "Test Parameters Used": "params",
            }[text]
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
        if name in THROUGHPUT_LINES:
            unit, key = THROUGHPUT_LINES[name]
        elif m := _PERCENTILE.fullmatch(name):
            unit, key = "ns", percentile_key(m.group("p"), self.f.get("scenario"))
        elif m := _FIRST_TOKEN_PERCENTILE.fullmatch(name):
            unit, key = "ns", percentile_key(m.group("p"), None, first_token=True)
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
            elif scenario in HEADLINE_NAMES:
                if metric.name == HEADLINE_NAMES[scenario]:
                    headline = headline or metric
            else:
                headline = headline or metric
        if headline is None and scenario == "Server":
            # Summaries from before "Completed samples per second" led with the scheduled rate.
            headline = next((m for m in self.metrics if m.name.startswith("Scheduled")), None)
        early = {k: tuple(v) for k, v in f["early_stopping"].items()}
        complete = footer and (f.get("validity") is not None or accuracy_footer)
        if empty:
            self.problem(
                None,
                "is empty: LoadGen writes the summary only when a run ends "
                "(the run is still going, or it crashed)",
            )
        elif not accuracy_footer and f.get("validity") is None:
            self.problem(
                None, "has no 'Result is' line: the run did not finish, or the file is cut off"
            )
        elif not footer:
            self.problem(
                None, "ends before LoadGen's closing warning/error lines: the file is cut off"
            )
        return Summary(
            path=self.path,
            scenario=scenario,
            mode=mode,
            sut_name=f.get("sut_name"),
            headline=headline,
            token_metric=token,
            metrics=tuple(self.metrics),
            validity=f.get("validity"),
            conditions=dict(f["conditions"]),
            recommendations=tuple(self.recommendations),
            early_stopping=early,
            early_stopping_estimate=_estimate(early.get("Early Stopping Result", ()), scenario),
            queries_processed=_queries_processed(early.values()),
            additional_stats=dict(f["additional_stats"]),
            test_parameters=dict(f["test_parameters"]),
            notices=tuple(self.notices),
            warnings_count=f.get("warnings_count"),
            errors_count=f.get("errors_count"),
            accuracy_footer=accuracy_footer,
            complete=complete,
            problems=tuple(self.problems),
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
            key = {
                "SingleStream": "early_stopping_latency_ss",
                "MultiStream": "early_stopping_latency_ms",
            }.get(scenario or "")
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
