"""Live progress from LoadGen's files while a run goes, fed whole lines as the orchestrator
tails each file by byte offset.

LoadGen writes the summary only at the end and the detail log only at the start and the end
(mlperf-facts.md 2.4), so progress comes from elsewhere: the trace gets one `"ph":"b"` Sample
line per completed sample, the accuracy log one record line per completed sample, and the
detail log's `generated_*` lines (there within a second of the start) give the total.
The readers use cheap string tests first: a trace can be tens of megabytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from engine.loadgen.detail import parse_detail_line

_SAMPLE_BEGIN = '{"name":"Sample"'


class TraceProgress:
    """Counts completed samples in `mlperf_log_trace.json` (which is not valid JSON, even when
    finished, so it is never parsed)."""

    def __init__(self) -> None:
        self.completed = 0

    def feed(self, lines: Iterable[str]) -> None:
        for line in lines:
            if line.startswith(_SAMPLE_BEGIN) and '"ph":"b"' in line:
                self.completed += 1


class AccuracyProgress:
    """Counts the records of `mlperf_log_accuracy.json`: one line per completed sample in
    accuracy mode (and in performance mode when accuracy-log sampling is on)."""

    def __init__(self) -> None:
        self.completed = 0

    def feed(self, lines: Iterable[str]) -> None:
        for line in lines:
            if line.lstrip().startswith("{"):
                self.completed += 1


# Only lines containing one of these are JSON-decoded; `loaded_qsl_set` lines can hold
# hundreds of thousands of numbers.
_WANTED = (
    '"generated_',
    '"effective_test_mode"',
    '"effective_scenario"',
    '"effective_accuracy_sample_count"',
    '"effective_min_sample_count"',
    '"effective_min_duration_ms"',
    '"qsl_reported_total_count"',
    '"num_errors"',
    '"is_error": true',
    '"is_warning": true',
)


# The detail log's numbers `DetailProgress.total` reads; of the two generated counts only the
# first line is kept.
_FIRST_ONLY = ("generated_query_count", "generated_samples_per_query")
_NUMBERS = (
    *_FIRST_ONLY,
    "effective_accuracy_sample_count",
    "qsl_reported_total_count",
    "effective_min_sample_count",
    "effective_min_duration_ms",
)


class DetailProgress:
    """Follows `mlperf_log_detail.txt` for the run's size and for errors as they are logged.

    `total` is the number of samples the run will issue: generated_query_count x
    generated_samples_per_query in performance mode (SingleStream and MultiStream without a
    min_duration: effective_min_sample_count, since what they generate is only a pool); in
    accuracy mode, where every sample is issued once, the accuracy sample count LoadGen 6
    logs, else the QSL's total count (the `generated_*` lines of LoadGen 4.x and 5.x describe
    the performance schedule there). None until known.
    """

    def __init__(self) -> None:
        self.test_mode: str | None = None
        self.scenario: str | None = None
        self.finished = False  # num_errors seen: LoadGen wrote its last line
        self.errors: list[tuple[str, Any]] = []
        self.warnings: list[tuple[str, Any]] = []
        self._numbers: dict[str, int | None] = {}  # the _NUMBERS lines' values, by key

    def feed(self, lines: Iterable[str]) -> None:
        for line in lines:
            if not any(w in line for w in _WANTED):
                continue
            obj = parse_detail_line(line)
            if obj is None:
                continue
            key, value = obj["key"], obj.get("value")
            meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
            if meta.get("is_error") is True:
                self.errors.append((key, value))
            elif meta.get("is_warning") is True:
                self.warnings.append((key, value))
            number = value if isinstance(value, int) and not isinstance(value, bool) else None
            if key == "effective_test_mode":
                self.test_mode = value
            elif key == "effective_scenario":
                self.scenario = value
            elif key == "num_errors":
                self.finished = True
            elif key in _NUMBERS and (key not in _FIRST_ONLY or self._numbers.get(key) is None):
                self._numbers[key] = number

    @property
    def total(self) -> int | None:
        n = self._numbers.get
        queries, per_query = n("generated_query_count"), n("generated_samples_per_query")
        if queries is None or per_query is None:
            return None
        first_set = queries * per_query
        stream = self.scenario in ("SingleStream", "MultiStream")
        if self.test_mode != "AccuracyOnly" and stream and n("effective_min_duration_ms") == 0:
            # The stream scenarios generate a pool and stop at the minimum query count once
            # min_duration has passed: with none, the minimum is the count.
            return n("effective_min_sample_count") or first_set
        if self.test_mode != "AccuracyOnly":
            return first_set
        if n("effective_accuracy_sample_count") is not None:
            return n("effective_accuracy_sample_count")
        return n("qsl_reported_total_count")


def progress_from_stdout(pattern: re.Pattern[str], line: str) -> tuple[int, int | None] | None:
    """(completed, total) from a harness's own progress line, using the named groups
    `completed` and optional `total` of `pattern`. A line holding several updates (a tqdm bar
    redrawn with carriage returns) gives the last one. None when the line does not match."""
    last = None
    for match in pattern.finditer(line):
        last = match
    if last is None:
        return None
    groups = last.groupdict()
    try:
        completed = int(groups["completed"])
    except (KeyError, TypeError, ValueError):
        return None
    total_text = groups.get("total")
    try:
        total = int(total_text) if total_text is not None else None
    except ValueError:
        total = None
    return completed, total
