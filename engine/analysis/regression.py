"""The one regression check: a run's figure against the median of its node's earlier runs.

A run is compared with the runs recorded before it on the same node for the same benchmark,
scenario, mode and requested sample count (its *family*: LoadGen's figure for a short run
carries its ramp-up and tail, and the wall throughput its model load; a parallel group's
shards, which run beside other shards, form families of their own). The figure compared is
named, never implied:

- the **LoadGen metric** when the run's summary has one (samples/s or tokens/s for Offline and
  Server: higher is better; a latency in ns for SingleStream and MultiStream: lower is better);
- else the **wall throughput** (samples processed / wall time, model load included; samples/s).

A run **regressed** when its figure is more than `settings.regression_margin` (a fraction,
0.05 = 5 %) worse than the median of its family's earlier runs. Only runs whose LoadGen results
stand (`RunState.ok`) and whose start time was recorded are judged or count as earlier runs;
not judged either (`not_judged` says why): fleet runs (one LoadGen over many nodes, no node
of their own), a compliance test's runs (an audit.config changes what LoadGen does) and a QPS
search's steps (each runs at its own target QPS). A run with no earlier run in its family is
compared with nothing (its `Regression.previous_runs` is 0).

`judge` is the one computation; `RunHistory` applies it in time order (the orchestrator keeps
one for the plan's runs, `engine.analysis.history` one over results dirs), and the console,
the batch lines, the reports and the charts only show what it said. Rows are the runs frame's
rows (`engine.analysis.columns.RUN_COLUMNS`), the one reading of a run summary.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.analysis.columns import run_row
from engine.analysis.fleet_frames import FLEET_KIND
from engine.analysis.frames import RATE_UNITS
from engine.checks.regression import (
    LOADGEN_METRIC,
    WALL_THROUGHPUT,
    Measure,
    Regression,
    judge,
)
from engine.model import Settings
from engine.results.store import RecordedRun, ResultsStore

DEFAULT_MARGIN = Settings().regression_margin
MARGIN_DEFAULT_SOURCE = "default (settings.regression_margin)"


def measure_of(row: Mapping[str, Any]) -> Measure | None:
    """LoadGen's metric when the run has one (with a unit), else its wall throughput; None
    when it has neither."""
    value, unit = row["metric_value"], row["metric_unit"]
    if value is not None and unit:
        return Measure(LOADGEN_METRIC, value, unit, unit in RATE_UNITS)
    if row["wall_throughput"] is not None:
        return Measure(WALL_THROUGHPUT, row["wall_throughput"], "samples/s", True)
    return None


def _family(row: Mapping[str, Any], m: Measure) -> tuple[Any, ...]:
    shard = row["group_id"] is not None  # a group's shard runs beside others: its own family
    key = (row["node"], row["benchmark"], row["scenario"], row["mode"], row["samples_requested"])
    return (*key, shard, m.basis, m.unit)


def not_judged(row: Mapping[str, Any], skip: Container[str] = frozenset()) -> str | None:
    """Why a run is neither judged nor counted as an earlier run; None when it is judged.
    `skip`: run dir paths of QPS search steps (`search_steps`)."""
    if not row["ok"]:
        return "its LoadGen results do not stand"
    if row["kind"] == FLEET_KIND or row["node"] is None:
        return "a fleet run: no node of its own"
    if row["compliance_test"] is not None:
        return f"a compliance test's run ({row['compliance_test']})"
    if str(row["path"]) in skip:
        return "a QPS search step (its target QPS sets its figure)"
    if row["start_unix"] is None:
        return "no start time recorded"
    if measure_of(row) is None:
        return "no LoadGen metric and no wall throughput"
    return None


def search_steps(root: str | Path) -> frozenset[str]:
    """The run dir paths of every QPS search step under `root` (its qps_search.json files)."""
    from engine.analysis.report.qps import search_results

    root = Path(root)
    return frozenset(
        str(root / step.run_dir)
        for _, result in search_results(root)
        for step in result.steps
        if step.run_dir
    )


class RunHistory:
    """Earlier figures per family, so each run is judged against the runs before it.

    `judge_row` judges a run and then counts it as an earlier run for the ones after it; runs
    must come in start order (the orchestrator's do; `assess` sorts)."""

    def __init__(self, margin: float = DEFAULT_MARGIN, skip: Container[str] = frozenset()) -> None:
        self.margin = margin
        self.skip = skip
        self._values: dict[tuple[Any, ...], list[tuple[float, float]]] = {}
        self._seen: set[str] = set()  # run dirs counted (a run read back from disk counts once)

    @classmethod
    def of_results_dir(cls, root: str | Path, margin: float = DEFAULT_MARGIN) -> RunHistory:
        """The runs already recorded under `root`, as earlier runs (read once)."""
        history = cls(margin, search_steps(root))
        rows = [run_row(rec) for rec in ResultsStore(root).runs()]
        for row in sorted((r for r in rows if history.judged(r)), key=lambda r: r["start_unix"]):
            history.add(row)
        return history

    def judged(self, row: Mapping[str, Any]) -> bool:
        return not_judged(row, self.skip) is None

    def add(self, row: Mapping[str, Any]) -> None:
        m = measure_of(row)
        where = str(row["path"])
        if m is not None and self.judged(row) and where not in self._seen:
            self._seen.add(where)
            self._values.setdefault(_family(row, m), []).append((row["start_unix"], m.value))

    def judge_row(self, row: Mapping[str, Any]) -> Regression | None:
        """`row` against its family's runs that started before it; None when it is not
        judged (see the module's docstring)."""
        m = measure_of(row)
        if m is None or not self.judged(row):
            return None
        earlier = self._values.get(_family(row, m), [])
        result = judge(m, [v for t, v in earlier if t < row["start_unix"]], self.margin)
        self.add(row)
        return result

    def judge_run(self, rec: RecordedRun) -> Regression | None:
        """A run just recorded (the orchestrator's): judged, then remembered."""
        return self.judge_row(run_row(rec))


def assess(
    rows: Sequence[Mapping[str, Any]], margin: float, skip: Container[str] = frozenset()
) -> list[Regression | None]:
    """Each row's regression (None where not judged), in the order given."""
    history = RunHistory(margin, skip)
    out: list[Regression | None] = [None] * len(rows)
    order = sorted(
        (i for i, r in enumerate(rows) if history.judged(r)),
        key=lambda i: (rows[i]["start_unix"], str(rows[i]["path"])),
    )
    for i in order:
        out[i] = history.judge_row(rows[i])
    return out
