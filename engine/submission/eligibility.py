"""Could this run be submitted to a round, and if not, every rule it breaks, with the numbers.

The checks are the submission checker's performance checks (rules.PERF_CHECK), read from the
same detail-log keys, against the round's data in `rules`. A run that breaks any rule is a
*development run*: sweeps, short runs, demo runs and runs of models the round does not hold.
LoadGen's own verdict (`result_validity`) is one rule among them, so an INVALID run is
explained twice: by LoadGen's failed condition and by the round's limit with its margin
("TPOT p99 132 ms > 100 ms limit for llama3.1-8b Server").

Other parts call `assess_logs` (a RunLogs read by engine.loadgen.parse) or `assess_run_dir`;
the Server QPS search reads `Eligibility.margins` for how close a run came to its limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.loadgen.parse import RunLogs, read_run_logs
from engine.results.record import JsonRecord, record_to_json
from engine.submission.rules import (
    EARLY_STOPPING_SCENARIOS,
    PERF_CHECK,
    BenchmarkRules,
    Round,
    get_round,
    resolve_benchmark,
)

_LOADGEN = "LoadGen loadgen/results.cc (result_validity); mlperf-automations mlperf_utils.py"
# The one LoadGen error the checker lets pass (performance_check.py).
_IGNORABLE_ERRORS = ("error_uncommitted_loadgen_changes",)


@dataclass(frozen=True)
class BrokenRule(JsonRecord):
    """One rule the run breaks: its id, the sentence with the numbers, and where the rule
    comes from. `value` and `limit` are the compared figures when there are any."""

    rule: str
    text: str
    source: str
    value: Any = None
    limit: Any = None

    @classmethod
    def from_json(cls, d: Any) -> BrokenRule | None:  # type: ignore[override]
        if not isinstance(d, dict) or not isinstance(d.get("rule"), str):
            return None
        return cls(
            d["rule"], str(d.get("text", "")), str(d.get("source", "")), d.get("value"),
            d.get("limit"),
        )  # fmt: skip


@dataclass(frozen=True)
class Margin:
    """A latency figure beside its limit: `ratio` = value / limit (above 1 breaks it)."""

    name: str  # "TPOT p99"
    value_ns: float
    limit_ns: float

    @property
    def ratio(self) -> float:
        return self.value_ns / self.limit_ns if self.limit_ns else float("inf")

    def text(self) -> str:
        pct = abs(self.ratio - 1) * 100
        side = "over" if self.ratio > 1 else "under"
        return f"{self.name} {_ms(self.value_ns)} vs {_ms(self.limit_ns)} limit ({pct:.0f}% {side})"

    def to_json(self) -> dict[str, Any]:
        return record_to_json(self)


@dataclass(frozen=True)
class Eligibility:
    """The verdict of one run against one round."""

    round: str
    benchmark: str | None
    scenario: str | None
    mode: str | None
    broken: tuple[BrokenRule, ...] = ()
    checked: tuple[str, ...] = ()  # the ids of the rules checked and met
    margins: tuple[Margin, ...] = ()
    model: str | None = None  # the name the caller gave (a LoadGen model name, `demo`)

    @property
    def eligible(self) -> bool:
        return not self.broken

    @property
    def development_run(self) -> bool:
        return bool(self.broken)

    @property
    def broken_rules(self) -> tuple[str, ...]:
        return tuple(b.rule for b in self.broken)

    def label(self) -> str:
        """The short word batch lines and the runs table show."""
        if self.eligible:
            return f"submittable ({self.round})"
        return f"development run ({self.round}: {', '.join(self.broken_rules)})"

    def reasons(self) -> tuple[str, ...]:
        return tuple(b.text for b in self.broken)

    def to_json(self) -> dict[str, Any]:
        return record_to_json(
            self, after="mode", eligible=self.eligible, development_run=self.development_run
        )

    @classmethod
    def from_json(cls, d: Any) -> Eligibility | None:
        if not isinstance(d, dict) or not isinstance(d.get("round"), str):
            return None
        broken = tuple(b for b in map(BrokenRule.from_json, d.get("broken") or []) if b)
        margins = tuple(
            Margin(str(m["name"]), float(m["value_ns"]), float(m["limit_ns"]))
            for m in d.get("margins") or []
            if isinstance(m, dict) and {"name", "value_ns", "limit_ns"} <= set(m)
        )
        checked = tuple(str(c) for c in d.get("checked") or [])
        model = d.get("model")
        return cls(
            d["round"], d.get("benchmark"), d.get("scenario"), d.get("mode"), broken, checked,
            margins, model if isinstance(model, str) else None,
        )  # fmt: skip


def _ms(ns: Any) -> str:
    return f"{ns / 1e6:.4g} ms" if isinstance(ns, int | float) else "missing"


def _num(v: Any) -> int | float | None:
    return v if isinstance(v, int | float) and not isinstance(v, bool) else None


class _Checker:
    """Collects the met and broken rules of one assessment."""

    def __init__(self) -> None:
        self.broken: list[BrokenRule] = []
        self.checked: list[str] = []
        self.margins: list[Margin] = []

    def rule(self, rule: str, ok: bool, text: str, source: str, value=None, limit=None) -> None:
        if ok:
            self.checked.append(rule)
        else:
            self.broken.append(BrokenRule(rule, text, source, value, limit))


def assess_run_dir(
    path: str | Path, round_name: str | None = None, model: str | None = None,
    scenario: str | None = None, division: str = "closed",
) -> Eligibility:  # fmt: skip
    """`assess_logs` over the LoadGen files of a run directory."""
    return assess_logs(read_run_logs(path), round_name, model, scenario, division)


def assess_logs(
    logs: RunLogs, round_name: str | None = None, model: str | None = None,
    scenario: str | None = None, division: str = "closed",
) -> Eligibility:  # fmt: skip
    """Every rule of the round checked against one run's logs. `model` is a LoadGen model
    name (`llama3_1-8b`) or the checker's benchmark name (`llama3.1-8b`); `scenario` may name
    Interactive (LoadGen logs it as Server) when the model name does not."""
    rnd = get_round(round_name)
    name, implied = resolve_benchmark(model)
    scen = scenario or implied or logs.scenario
    c = _Checker()
    bench = rnd.benchmarks.get(name) if name else None
    c.rule(
        "benchmark_in_round", bench is not None,
        f"{model or 'the run'} is not a benchmark of {rnd.name}"
        + (f" ({name} is not in the round)" if name else " (no MLPerf model named)"),
        rnd.source, model,
    )  # fmt: skip
    detail = logs.detail
    c.rule(
        "logs_complete", detail is not None and detail.complete,
        "the detail log is missing" if detail is None
        else f"the logs are incomplete: {'; '.join(logs.incomplete_reasons) or 'cut off'}",
        PERF_CHECK,
    )  # fmt: skip
    if detail is None:
        return Eligibility(
            rnd.name, name, scen, logs.mode, tuple(c.broken), tuple(c.checked), (), model
        )
    if bench is not None and scen and bench.scenarios and scen not in bench.scenarios:
        c.rule("scenario_allowed", False,
               f"{scen} is not a scenario of {bench.name} in {rnd.name} "
               f"({', '.join(bench.scenarios)})", rnd.source, scen)  # fmt: skip
    v = detail.values
    _errors(c, detail.errors)
    _seeds(c, v, rnd)
    if bench is not None:
        _benchmark_rules(c, v, rnd, bench, scen, logs.mode)
    if logs.mode == "accuracy":
        _accuracy(c, detail.accuracy_total, bench)
    else:
        _performance(c, logs, v, rnd, bench, scen, division)
    return Eligibility(
        rnd.name, name, scen, logs.mode, tuple(c.broken), tuple(c.checked), tuple(c.margins), model
    )


def _errors(c: _Checker, errors: tuple[tuple[str, Any], ...]) -> None:
    fatal = [(k, val) for k, val in errors if k not in _IGNORABLE_ERRORS]
    said = "; ".join(f"{k}: {val}" for k, val in fatal[:3])
    c.rule(
        "no_loadgen_errors",
        not fatal,
        f"LoadGen logged {len(fatal)} error(s): {said}",
        PERF_CHECK,
        len(fatal),
        0,
    )


def _seeds(c: _Checker, v: dict[str, Any], rnd: Round) -> None:
    wrong = [
        f"{k} {v.get('effective_' + k, 'missing')} != {want}"
        for k, want in rnd.seeds.items()
        if v.get("effective_" + k) != want
    ]
    c.rule(
        "rng_seeds",
        not wrong,
        f"the RNG seeds are not {rnd.name}'s: {'; '.join(wrong)}",
        rnd.seeds_source,
    )


def _benchmark_rules(c, v, rnd: Round, bench: BenchmarkRules, scen, mode) -> None:
    psc = _num(v.get("effective_performance_sample_count"))
    c.rule(
        "performance_sample_count", psc is not None and psc >= bench.performance_sample_count,
        f"performance_sample_count {psc if psc is not None else 'missing'} < "
        f"{bench.performance_sample_count} required for {bench.name}",
        rnd.source + " performance-sample-count", psc, bench.performance_sample_count,
    )  # fmt: skip
    if bench.llm:
        on = v.get("requested_use_token_latencies")
        c.rule("token_latencies", on is True,
               f"use_token_latencies is {on if on is not None else 'missing'}: "
               f"{bench.name} needs token latencies on", PERF_CHECK)  # fmt: skip
    if bench.equal_issue:
        on = v.get("effective_sample_concatenate_permutation")
        c.rule(
            "equal_issue",
            on is True,
            f"sample_concatenate_permutation is {on if on is not None else 'missing'}: "
            f"{bench.name} runs in equal-issue mode",
            "loadgen/mlperf.conf; inference#1610",
        )


def _accuracy(c: _Checker, total: int | None, bench: BenchmarkRules | None) -> None:
    if bench is None:
        return
    c.rule("accuracy_full_dataset", total == bench.dataset_size,
           f"the accuracy run covers {total if total is not None else 'an unknown number of'} "
           f"samples, not the {bench.dataset_size} of {bench.name}'s dataset",
           "CONSTANTS dataset-size", total, bench.dataset_size)  # fmt: skip


def _performance(c, logs: RunLogs, v, rnd: Round, bench, scen, division) -> None:
    # The detail log first: it is what the checker reads (the summary only where it is absent).
    validity = v.get("result_validity") or logs.validity
    reasons = logs.validity_reasons
    c.rule(
        "loadgen_valid",
        validity == "VALID",
        f"LoadGen's verdict is {validity or 'missing'}"
        + (f": {' '.join(reasons)}" if reasons else ""),
        _LOADGEN,
        validity,
        "VALID",
    )
    dur = _num(v.get("effective_min_duration_ms"))
    c.rule(
        "min_duration", dur is not None and dur >= rnd.min_duration_ms,
        f"min_duration {dur if dur is not None else 'missing'} ms < {rnd.min_duration_ms} ms "
        f"({rnd.min_duration_ms // 1000} s) the round requires",
        PERF_CHECK + " TEST_DURATION_MS", dur, rnd.min_duration_ms,
    )  # fmt: skip
    if scen in EARLY_STOPPING_SCENARIOS:
        met = v.get("early_stopping_met")
        c.rule("early_stopping", met is True,
               "early stopping not met" + (": " + " ".join(
                   t for t in logs.validity_reasons if "Early stopping" in t) if met is False
                   else " (the log has no early_stopping_met)"), PERF_CHECK)  # fmt: skip
    if bench is None:
        return
    if scen not in EARLY_STOPPING_SCENARIOS and scen in bench.min_queries:
        mq, want = _num(v.get("effective_min_query_count")), bench.min_queries[scen]
        c.rule("min_query_count", mq is not None and mq >= want,
               f"min_query_count {mq} < {want} required for {bench.name} {scen}",
               rnd.source + " min-queries", mq, want)  # fmt: skip
    if scen == "Offline" and division == "closed" and bench.offline_min_samples_per_query:
        spq, want = _num(v.get("effective_samples_per_query")), bench.offline_min_samples_per_query
        c.rule("offline_samples_per_query", spq is not None and spq >= want,
               f"samples_per_query {spq} < {want} required for closed {bench.name} Offline",
               "CONSTANTS OFFLINE_MIN_SPQ_SINCE_V4", spq, want)  # fmt: skip
    if scen in ("Server", "Interactive") and bench.server_latency_ns is not None:
        lat = _num(v.get("effective_target_latency_ns"))
        c.rule(
            "server_latency_bound", lat is not None and lat <= bench.server_latency_ns,
            f"target_latency {_ms(lat)} > {_ms(bench.server_latency_ns)} bound for "
            f"{bench.name} Server", rnd.source + " latency-constraint", lat,
            bench.server_latency_ns,
        )  # fmt: skip
    limits = bench.llm_limits.get(scen or "")
    if limits is not None:
        for rule, name, key, limit in (
            ("llm_ttft_p99", "TTFT p99", "result_first_token_99.00_percentile_latency_ns",
             limits.ttft_ns),
            ("llm_tpot_p99", "TPOT p99", "result_time_per_output_token_99.00_percentile_ns",
             limits.tpot_ns),
        ):  # fmt: skip
            got = _num(v.get(key))
            if got is not None:
                c.margins.append(Margin(name, float(got), float(limit)))
            c.rule(rule, got is not None and got <= limit,
                   f"{name} {_ms(got)} > {_ms(limit)} limit for {bench.name} {scen}"
                   if got is not None else f"{name} is missing from the detail log ({key})",
                   "CONSTANTS LLM_LATENCY_LIMITS", got, limit)  # fmt: skip
