"""`mlperf_log_detail.txt`: one `:::MLLOG {json}` line per logged value, the machine-readable
record the submission checker reads. Format: /work/shared/reference/mlperf-facts.md section 2.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.loadgen.records import Problem, json_safe, normalise_mode, read_text
from engine.loadgen.validity import invalid_reasons

DETAIL_PREFIXES = (":::MLLOG", ":::ENDPTS")
RESULT_PREFIXES = ("result_", "early_stopping")
# LoadGen 4.0 and 4.1 end a performance log with the results block, whose last key for every
# scenario is the 99.9th percentile of sample latency (token runs add their keys after it, in
# the same instant); 5.0 added `num_errors` as the last line.
NUM_ERRORS_SINCE = (5, 0)
_LAST_RESULT_KEY = "result_99.90_percentile_latency_ns"
_RELEASE = re.compile(r"\s*(\d+)\.(\d+)")
# Keys LoadGen writes more than once in a normal run (accuracy mode repeats the whole
# loadable-set block); any other repeated key is reported, and its first value used, as the
# submission checker does.
_REPEATING_KEYS = frozenset(
    {
        "generic_message",
        "loaded_qsl_set",
        "generated_query_count",
        "generated_samples_per_query",
        "generated_query_duration",
        "power_begin",
        "power_end",
        "warning_generic_message",
    }
)


@dataclass(frozen=True)
class DetailEntry:
    key: str
    value: Any
    line: int
    time_ms: float | None = None
    is_error: bool = False
    is_warning: bool = False


def _int_line(key: str) -> property:
    """A `DetailLog` property: the log's integer line `key`."""
    return property(lambda log: log._int(key))


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
    cut_off: bool = False  # the last line is cut off mid-JSON (being written, or truncated)

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
    def loadgen_version(self) -> str | None:
        value = self.values.get("loadgen_version")
        return value if isinstance(value, str) else None

    @property
    def loadgen_release(self) -> tuple[int, int] | None:
        """(major, minor) of the LoadGen that wrote the log ("4.1 @ 2ed9555be0" -> (4, 1));
        None when the log does not say."""
        m = _RELEASE.match(self.loadgen_version or "")
        return (int(m.group(1)), int(m.group(2))) if m else None

    @property
    def writes_num_errors(self) -> bool:
        """Whether this LoadGen ends a performance log with `num_errors`: 5.0 and later do;
        4.0 and 4.1 end it with the results block. Unknown versions are taken to write it."""
        release = self.loadgen_release
        return release is None or release >= NUM_ERRORS_SINCE

    @property
    def results(self) -> dict[str, Any]:
        """Every `result_*` and `early_stopping*` key with its (first) value, as LoadGen named
        it: what the submission checker reads."""
        return {k: v for k, v in self.values.items() if k.startswith(RESULT_PREFIXES)}

    @property
    def loaded_set_sizes(self) -> tuple[int, ...]:
        """The sample count of each loadable set LoadGen loaded (`loaded_qsl_set` lists)."""
        return tuple(len(v) for v in self.all_values("loaded_qsl_set") if isinstance(v, list))

    @property
    def test_mode(self) -> str | None:
        """LoadGen's word, e.g. "PerformanceOnly"."""
        return self.values.get("effective_test_mode", self.values.get("requested_test_mode"))

    @property
    def mode(self) -> str | None:
        return normalise_mode(self.test_mode)

    # LoadGen's integer lines of the same names (None when absent or not an integer).
    generated_query_count = _int_line("generated_query_count")
    generated_samples_per_query = _int_line("generated_samples_per_query")
    effective_samples_per_query = _int_line("effective_samples_per_query")
    result_query_count = _int_line("result_query_count")

    @property
    def samples_per_query(self) -> int | None:
        """The samples per query LoadGen issued: `generated_samples_per_query` (equal-issue mode
        pads it beyond the setting), else `effective_samples_per_query`."""
        spq = self.generated_samples_per_query
        return spq if spq is not None else self.effective_samples_per_query

    @property
    def generated_total(self) -> int | None:
        """Samples LoadGen scheduled: generated queries x samples per query. In accuracy mode
        LoadGen issues every sample of each loadable set once, so the total is the sum of the
        loaded sets' sizes; its `generated_*` lines there describe the performance schedule
        it would have run (4.x and 5.x log 17,952 samples for a 43-sample 3d-unet run)."""
        if self.mode == "accuracy" and self.loaded_set_sizes:
            return sum(self.loaded_set_sizes)
        counts = self.all_values("generated_query_count")
        spqs = self.all_values("generated_samples_per_query")
        pairs = [
            (c, s)
            for c, s in zip(counts, spqs, strict=False)
            if isinstance(c, int) and isinstance(s, int)
        ]
        if not pairs:
            return None
        if self.mode != "accuracy":
            pairs = pairs[:1]
        return sum(c * s for c, s in pairs)

    @property
    def accuracy_total(self) -> int | None:
        """The samples an accuracy-mode run issues: LoadGen 6's
        `effective_accuracy_sample_count`, else `qsl_reported_total_count` (the count the
        submission checker compares with the dataset size). None outside accuracy mode."""
        if self.mode != "accuracy":
            return None
        count = self._int("effective_accuracy_sample_count")
        return count if count is not None else self._int("qsl_reported_total_count")

    @property
    def validity(self) -> str | None:
        return self.values.get("result_validity")

    @property
    def conditions(self) -> dict[str, bool]:
        keys = {
            "result_perf_constraints_met": "performance_constraints",
            "result_min_duration_met": "min_duration",
            "result_min_queries_met": "min_queries",
            "early_stopping_met": "early_stopping",
        }
        return {
            name: self.values[key]
            for key, name in keys.items()
            if isinstance(self.values.get(key), bool)
        }

    @property
    def invalid_reasons(self) -> tuple[str, ...]:
        """Sentences saying why LoadGen marked the run INVALID; empty unless INVALID."""
        if self.validity != "INVALID":
            return ()
        return invalid_reasons(None, self)

    @property
    def complete(self) -> bool:
        """LoadGen finished the log. Performance mode: `num_errors` (LoadGen 5.0 and later), or
        for 4.x, which never write it, the whole results block on complete lines. Accuracy
        mode (no `num_errors` in any version): every loadable set it started has ended and
        together they cover the accuracy sample count."""
        if "num_errors" in self.values:
            return True
        if self.mode != "accuracy":
            return (
                not self.writes_num_errors
                and not self.cut_off
                and "result_validity" in self.values
                and _LAST_RESULT_KEY in self.values
            )
        started = len(self.all_values("generated_query_count"))
        ended = len(self.all_values("power_end"))
        if started == 0 or ended < started:
            return False
        count = self.accuracy_total
        # LoadGen issues whole queries: 21 MultiStream samples are 3 queries of 8 = 24.
        total = self.generated_total
        return count is None or (total is not None and total >= count)

    @property
    def incomplete_reason(self) -> str | None:
        """Why the detail log is not complete, in a few words; None when it is."""
        if self.complete:
            return None
        if not self.entries:
            return "the detail log is empty or unreadable"
        if self.mode == "accuracy":
            return "the detail log ends before LoadGen finished its loadable sets"
        if not self.writes_num_errors:
            return (
                f"the detail log ends before LoadGen {self.loadgen_release[0]}."
                f"{self.loadgen_release[1]} wrote its results block"
            )
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
        results = self.results
        settings = {k: v for k, v in self.values.items() if k.startswith("effective_")}
        return json_safe(
            {
                "path": self.path,
                "lines": len(self.entries),
                "complete": self.complete,
                "scenario": self.scenario,
                "mode": self.mode,
                "test_mode": self.test_mode,
                "loadgen_version": self.loadgen_version,
                "sut_name": self.values.get("sut_name"),
                "validity": self.validity,
                "invalid_reasons": self.invalid_reasons,
                "generated_query_count": self.generated_query_count,
                "generated_samples_per_query": self.generated_samples_per_query,
                "effective_samples_per_query": self.effective_samples_per_query,
                "generated_total": self.generated_total,
                "result_query_count": self.result_query_count,
                "samples_processed": self.samples_processed,
                "num_errors": self.values.get("num_errors"),
                "settings": settings,
                "results": results,
                "errors": [[k, v] for k, v in self.errors],
                "warnings": [[k, v] for k, v in self.warnings],
                "problems": list(self.problems),
            }
        )


def parse_detail_line(line: str) -> dict[str, Any] | None:
    """The JSON object of one `:::MLLOG {...}` / `:::ENDPTS {...}` line, or None when the line
    is not one (or its JSON is cut off)."""
    text = line.strip()
    for prefix in DETAIL_PREFIXES:
        if text.startswith(prefix):
            try:
                obj = json.loads(text[len(prefix) :])
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
    last_cut = False
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        obj = parse_detail_line(line)
        if obj is None:
            if n == len(lines) and cut_off:
                last_cut = True
                problems.append(
                    Problem(
                        name,
                        n,
                        "the last line is cut off (the log is still "
                        "being written, or was truncated)",
                    )
                )
            elif line.lstrip().startswith(DETAIL_PREFIXES):
                problems.append(Problem(name, n, "not valid JSON after the :::MLLOG prefix"))
            else:
                problems.append(Problem(name, n, f"not a LoadGen log line: {line[:60]!r}"))
            continue
        key = obj["key"]
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        time_ms = obj.get("time_ms")
        entry = DetailEntry(
            key=key,
            value=obj.get("value"),
            line=n,
            time_ms=float(time_ms) if isinstance(time_ms, int | float) else None,
            is_error=meta.get("is_error") is True,
            is_warning=meta.get("is_warning") is True,
        )
        entries.append(entry)
        counts[key] = counts.get(key, 0) + 1
        if key not in values:
            values[key] = entry.value
            first_line[key] = n
    for key, count in counts.items():
        if count > 1 and key not in _REPEATING_KEYS and not key.startswith(("error_", "logger_")):
            problems.append(
                Problem(
                    name,
                    first_line[key],
                    f"key {key!r} appears {count} times; the first value is used",
                )
            )
    return DetailLog(
        path=name,
        entries=tuple(entries),
        values=values,
        errors=tuple((e.key, e.value) for e in entries if e.is_error),
        warnings=tuple((e.key, e.value) for e in entries if e.is_warning),
        problems=tuple(problems),
        cut_off=last_cut,
    )
