"""The Server QPS search's arithmetic and record: bisection between a VALID and an INVALID
target_qps over short runs, then a full-length confirmation run, every step recorded.

Why bisection: a Server run is VALID below the system's capacity and INVALID above it (the
latency bound or early stopping fails as the queue grows), so validity is monotonic in the
target QPS and the edge is found in log2(range / tolerance) short runs. MLCommons' own
automation then lowers the found QPS a little to avoid reruns (3%, inference#1633): that is
`backoff`. The margin is how far the confirmed QPS stays below the lowest QPS seen INVALID.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SEARCH_FILE = "qps_search.json"
CHART_FILE = "qps_search.png"
SEARCH_SCHEMA = "mlconsole.qps_search"


@dataclass(frozen=True)
class QpsStep:
    """One run of the search: `kind` "short" (bisection) or "confirm" (full length)."""

    index: int
    kind: str
    qps: float
    run_id: str
    run_dir: str | None = None
    state: str | None = None
    validity: str | None = None
    reasons: tuple[str, ...] = ()
    metric: float | None = None  # LoadGen's headline of the run (scheduled samples/s ...)
    metric_unit: str | None = None

    @property
    def valid(self) -> bool:
        return self.validity == "VALID"

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "kind": self.kind, "qps": self.qps, "run_id": self.run_id,
                "run_dir": self.run_dir, "state": self.state, "validity": self.validity,
                "reasons": list(self.reasons), "metric": self.metric,
                "metric_unit": self.metric_unit}  # fmt: skip

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> QpsStep:
        return cls(int(d.get("index", 0)), str(d.get("kind")), float(d.get("qps", 0.0)),
                   str(d.get("run_id")), d.get("run_dir"), d.get("state"), d.get("validity"),
                   tuple(d.get("reasons") or ()), d.get("metric"),
                   d.get("metric_unit"))  # fmt: skip

    def line(self) -> str:
        why = f" ({'; '.join(self.reasons)})" if self.reasons and not self.valid else ""
        verdict = self.validity or f"no verdict ({self.state})"
        return f"{self.kind} run {self.index} at {self.qps:.4g} QPS: {verdict}{why}"


@dataclass(frozen=True)
class QpsSearchResult:
    """What the search found so far (written after every step)."""

    name: str
    node: str
    benchmark: str
    low_qps: float
    high_qps: float
    tolerance: float
    backoff: float
    steps: tuple[QpsStep, ...] = ()
    done: bool = False
    detail: str = ""

    @property
    def highest_valid(self) -> float | None:
        qs = [s.qps for s in self.steps if s.kind == "short" and s.valid]
        return max(qs) if qs else None

    @property
    def lowest_invalid(self) -> float | None:
        qs = [s.qps for s in self.steps if not s.valid and s.validity is not None]
        return min(qs) if qs else None

    @property
    def confirmed(self) -> QpsStep | None:
        ok = [s for s in self.steps if s.kind == "confirm" and s.valid]
        return ok[-1] if ok else None

    @property
    def found_qps(self) -> float | None:
        """The QPS a full-length run confirmed VALID; None until one did."""
        c = self.confirmed
        return c.qps if c is not None else None

    @property
    def margin(self) -> float | None:
        """(lowest INVALID QPS - found QPS) / found QPS: how close to the edge the found QPS
        is; None without both."""
        found, bad = self.found_qps, self.lowest_invalid
        if found is None or bad is None or found <= 0:
            return None
        return (bad - found) / found

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SEARCH_SCHEMA, "schema_version": 1, "name": self.name, "node": self.node,
            "benchmark": self.benchmark, "low_qps": self.low_qps, "high_qps": self.high_qps,
            "tolerance": self.tolerance, "backoff": self.backoff, "done": self.done,
            "detail": self.detail, "found_qps": self.found_qps,
            "highest_valid_short_qps": self.highest_valid,
            "lowest_invalid_qps": self.lowest_invalid, "margin": self.margin,
            "steps": [s.to_json() for s in self.steps],
        }  # fmt: skip

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> QpsSearchResult:
        return cls(str(d["name"]), str(d["node"]), str(d["benchmark"]), float(d["low_qps"]),
                   float(d["high_qps"]), float(d["tolerance"]), float(d["backoff"]),
                   tuple(QpsStep.from_json(s) for s in d.get("steps") or ()),
                   bool(d.get("done")), str(d.get("detail") or ""))  # fmt: skip

    def line(self) -> str:
        """The search's outcome in one line (batch, TUI notice, report)."""
        if self.found_qps is None:
            return f"qps search {self.name} on {self.node}: no QPS confirmed VALID" + (
                f" ({self.detail})" if self.detail else "")  # fmt: skip
        margin = (f", {self.margin * 100:.1f}% below the lowest INVALID "
                  f"{self.lowest_invalid:.4g} QPS" if self.margin is not None
                  else " (no INVALID QPS seen: raise high_qps to find the edge)")  # fmt: skip
        shorts = sum(1 for s in self.steps if s.kind == "short")
        return (f"qps search {self.name} on {self.node}: {self.found_qps:.4g} QPS confirmed "
                f"VALID by a full-length run{margin}; {shorts} short runs")  # fmt: skip


@dataclass
class Bisection:
    """The next QPS to try, from the verdicts so far. `low` is VALID (once tried), `high`
    INVALID (once tried)."""

    low: float
    high: float
    tolerance: float
    tried: dict[float, bool] = field(default_factory=dict)

    def next_qps(self) -> float | None:
        """None when the bracket is narrow enough or an end decided the search."""
        if self.low not in self.tried:
            return self.low
        if not self.tried[self.low]:
            return None  # even the lowest QPS is INVALID
        if self.high not in self.tried:
            return self.high
        if self.tried[self.high]:
            return None  # the highest QPS is VALID: nothing above it was asked for
        if (self.high - self.low) / self.low <= self.tolerance:
            return None
        return round((self.low + self.high) / 2, 6)

    def record(self, qps: float, valid: bool) -> None:
        self.tried[qps] = valid
        if qps not in (self.low, self.high):
            if valid:
                self.low = qps
            else:
                self.high = qps

    @property
    def best(self) -> float | None:
        """The highest QPS seen VALID."""
        ok = [q for q, v in self.tried.items() if v]
        return max(ok) if ok else None


def steps_table(steps: Sequence[QpsStep]) -> list[str]:
    """The steps as a markdown table (the pipeline report)."""
    out = [
        "| step | kind | target QPS | verdict | LoadGen metric | run dir |",
        "|---|---|---|---|---|---|",
    ]
    for s in steps:
        metric = "—" if s.metric is None else f"{s.metric:.4g} {s.metric_unit or ''}".strip()
        verdict = s.validity or f"— ({s.state})"
        if s.reasons and not s.valid:
            verdict += ": " + "; ".join(s.reasons)
        out.append(f"| {s.index} | {s.kind} | {s.qps:.4g} | {verdict} | {metric} | "
                   f"`{s.run_dir or '—'}` |")  # fmt: skip
    return out
