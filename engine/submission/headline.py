"""The checker's headline of a run: the one figure the submission checker reports for a
scenario and benchmark in a round, read from the detail-log key it reads.

Offline samples/s and Server completed samples/s, tokens/s for LLMs (Offline
`result_tokens_per_second`, Server and Interactive `result_completed_tokens_per_second`),
the early-stopping latency estimate for SingleStream and MultiStream (ns in the log, ms in
the checker's table). It sits beside LoadGen's verdict; it is not LoadGen's summary line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.results.record import JsonRecord
from engine.submission.rules import Round, get_round, resolve_benchmark

# The checker's units (CONSTANTS UNIT_DICT, SPECIAL_UNIT_DICT).
_UNITS = {
    "SingleStream": "Latency (ms)",
    "MultiStream": "Latency (ms)",
    "Offline": "Samples/s",
    "Server": "Queries/s",
    "Interactive": "Queries/s",
}


@dataclass(frozen=True)
class CheckerHeadline(JsonRecord):
    """`value` in the checker's unit (ms for the latency scenarios); None when the log does
    not hold the key (then `missing` says why)."""

    round: str
    benchmark: str | None
    scenario: str | None
    key: str | None
    value: float | None
    unit: str | None
    missing: str | None = None

    def text(self) -> str:
        if self.value is None:
            return f"checker headline: missing ({self.missing})"
        return f"{self.value:.6g} {self.unit} ({self.key}, {self.round})"

    @classmethod
    def from_json(cls, d: Any) -> CheckerHeadline | None:  # type: ignore[override]
        if not isinstance(d, dict) or not isinstance(d.get("round"), str):
            return None
        value = d.get("value")
        return cls(
            d["round"],
            d.get("benchmark"),
            d.get("scenario"),
            d.get("key"),
            float(value) if isinstance(value, int | float) else None,
            d.get("unit"),
            d.get("missing"),
        )


def headline_key(rnd: Round, benchmark: str | None, scenario: str) -> tuple[str | None, str]:
    """(detail-log key, unit) the checker reports for this benchmark and scenario."""
    bench = rnd.benchmarks.get(benchmark or "")
    if bench is not None and scenario in bench.headline_keys:
        key = bench.headline_keys[scenario]
        return key, "Latency (ms)"
    if bench is not None and bench.llm and scenario in rnd.llm_headline_keys:
        return rnd.llm_headline_keys[scenario], "Tokens/s"
    return rnd.headline_keys.get(scenario), _UNITS.get(scenario, "")


def checker_headline(
    values: dict[str, Any], scenario: str | None, model: str | None = None,
    round_name: str | None = None,
) -> CheckerHeadline:  # fmt: skip
    """The checker's headline from a detail log's values (`DetailLog.values`)."""
    rnd = get_round(round_name)
    name, implied = resolve_benchmark(model)
    scen = implied or scenario
    if not scen:
        return CheckerHeadline(rnd.name, name, None, None, None, None, "no scenario in the log")
    key, unit = headline_key(rnd, name, scen)
    raw = values.get(key) if key else None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        why = f"the detail log has no {key}" if key else f"no headline for {scen}"
        return CheckerHeadline(rnd.name, name, scen, key, None, unit, why)
    value = float(raw) / 1e6 if unit == "Latency (ms)" else float(raw)
    if unit == "Latency (ms)" and raw == 0:
        return CheckerHeadline(
            rnd.name, name, scen, key, None, unit,
            f"{key} is 0: too few queries for an early-stopping estimate",
        )  # fmt: skip
    return CheckerHeadline(rnd.name, name, scen, key, value, unit)
