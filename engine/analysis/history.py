"""Every recorded run across days and results dirs, and the one regression check.

A run is compared with the runs recorded before it on the same node for the same benchmark,
scenario and mode (its *family*; a parallel group's shards, which run beside other shards,
form families of their own). The figure compared is named, never implied:

- the **LoadGen metric** when the run's summary has one (samples/s or tokens/s for Offline and
  Server: higher is better; a latency in ns for SingleStream and MultiStream: lower is better);
- else the **wall throughput** (samples processed / wall time, model load included; samples/s),
  compared only with runs of the same requested sample count, since the model load weighs
  less in a longer run.

A run **regressed** when its figure is more than `settings.regression_margin` (a fraction,
0.05 = 5 %) worse than the median of its family's earlier runs. Only runs whose LoadGen results
stand (`RunState.ok`) and whose start time was recorded are judged or count as earlier runs;
fleet runs (one LoadGen over many nodes) have no node of their own and are not judged. A run
with no earlier run in its family is not judged (its `Regression.previous_runs` is 0).

`judge` is the one computation; `RunHistory` applies it in time order (the orchestrator keeps
one for the plan's runs, `load_history` one over results dirs), and the console, the batch
lines, the reports and the charts only show what it said. Rows are the runs frame's rows
(`engine.analysis.columns.RUN_COLUMNS`), the one reading of a run summary.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from engine import figures, units
from engine.analysis.columns import aggregate, frame_of, run_row
from engine.analysis.fleet_frames import FLEET_KIND
from engine.analysis.frames import RATE_UNITS, load_results, snapshot_setting
from engine.model import Settings
from engine.results.plan_journal import plans_of_runs
from engine.results.store import RecordedRun, ResultsStore

LOADGEN_METRIC = "LoadGen metric"
WALL_THROUGHPUT = "wall throughput"
DEFAULT_MARGIN = Settings().regression_margin
MARGIN_DEFAULT_SOURCE = "default (settings.regression_margin)"


@dataclass(frozen=True)
class Measure:
    """The figure a run is judged by: which one (`basis`), its value and unit."""

    basis: str  # LOADGEN_METRIC or WALL_THROUGHPUT
    value: float
    unit: str
    higher_is_better: bool


def measure_of(row: Mapping[str, Any]) -> Measure | None:
    """LoadGen's metric when the run has one (with a unit), else its wall throughput; None
    when it has neither."""
    value, unit = row["metric_value"], row["metric_unit"]
    if value is not None and unit:
        return Measure(LOADGEN_METRIC, value, unit, unit in RATE_UNITS)
    if row["wall_throughput"] is not None:
        return Measure(WALL_THROUGHPUT, row["wall_throughput"], "samples/s", True)
    return None


@dataclass(frozen=True)
class Regression:
    """A run's figure against the median of its family's earlier runs.

    `change` is value / median - 1 (-0.12: 12 % lower); `flagged` says it is worse than the
    median by more than `margin` (lower for a rate, higher for a latency)."""

    basis: str
    unit: str
    value: float
    previous_median: float | None
    previous_runs: int
    change: float | None
    margin: float
    flagged: bool
    higher_is_better: bool = True

    def line(self, node: str | None = None) -> str:
        """One sentence for the batch lines, the details and the reports."""
        figure = f"{self.basis} {units.with_unit(self.value, self.unit)}"
        if self.previous_runs == 0 or self.change is None:
            return f"{figure}: no earlier run of this node, benchmark and scenario to compare"
        where = f"{node}'s" if node else "the node's"
        median = units.with_unit(self.previous_median, self.unit)
        runs = f"{self.previous_runs} earlier run{'s' if self.previous_runs != 1 else ''}"
        word = "below" if self.change < 0 else "above"
        change = f"{units.num(abs(self.change) * 100, 3)}% {word}"
        margin = f"margin {units.num(self.margin * 100, 3)}%"
        head = "REGRESSION: " if self.flagged else ""
        return f"{head}{figure} is {change} {where} previous median {median} ({runs}; {margin})"

    def to_json(self) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "unit": self.unit,
            "value": self.value,
            "previous_median": self.previous_median,
            "previous_runs": self.previous_runs,
            "change": self.change,
            "margin": self.margin,
            "regression": self.flagged,
            "higher_is_better": self.higher_is_better,
        }


def judge(measure: Measure, previous: Sequence[float], margin: float) -> Regression:
    """The regression check, computed here only: `measure` against the median of `previous`
    (the same family's earlier values)."""
    median = statistics.median(previous) if previous else None
    ratio = figures.relative(measure.value, median)
    change = None if ratio is None else ratio - 1.0
    if change is None:
        flagged = False
    elif measure.higher_is_better:
        flagged = change < -margin
    else:
        flagged = change > margin
    return Regression(
        measure.basis,
        measure.unit,
        measure.value,
        median,
        len(previous),
        change,
        margin,
        flagged,
        measure.higher_is_better,
    )


def _family(row: Mapping[str, Any], m: Measure) -> tuple[Any, ...]:
    samples = row["samples_requested"] if m.basis == WALL_THROUGHPUT else None
    shard = row["group_id"] is not None  # a group's shard runs beside others: its own family
    key = (row["node"], row["benchmark"], row["scenario"], row["mode"], shard)
    return (*key, m.basis, m.unit, samples)


def judged(row: Mapping[str, Any]) -> bool:
    """Whether a run takes part: its results stand, it has a node and a start time."""
    return bool(
        row["ok"]
        and row["kind"] != FLEET_KIND
        and row["node"] is not None
        and row["start_unix"] is not None
    )


class RunHistory:
    """Earlier figures per family, so each run is judged against the runs before it.

    `judge_row` judges a run and then counts it as an earlier run for the ones after it; runs
    must come in start order (the orchestrator's do; `assess` sorts)."""

    def __init__(self, margin: float = DEFAULT_MARGIN) -> None:
        self.margin = margin
        self._values: dict[tuple[Any, ...], list[tuple[float, float]]] = {}

    @classmethod
    def of_results_dir(cls, root: str | Path, margin: float = DEFAULT_MARGIN) -> RunHistory:
        """The runs already recorded under `root`, as earlier runs (read once)."""
        history = cls(margin)
        rows = [run_row(rec) for rec in ResultsStore(root).runs()]
        for row in sorted((r for r in rows if judged(r)), key=lambda r: r["start_unix"]):
            history.add(row)
        return history

    def add(self, row: Mapping[str, Any]) -> None:
        m = measure_of(row)
        if m is not None and judged(row):
            self._values.setdefault(_family(row, m), []).append((row["start_unix"], m.value))

    def judge_row(self, row: Mapping[str, Any]) -> Regression | None:
        """`row` against its family's runs that started before it; None when it is not
        judged (see the module's docstring)."""
        m = measure_of(row)
        if m is None or not judged(row):
            return None
        earlier = self._values.get(_family(row, m), [])
        result = judge(m, [v for t, v in earlier if t < row["start_unix"]], self.margin)
        self.add(row)
        return result

    def judge_run(self, rec: RecordedRun) -> Regression | None:
        """A run just recorded (the orchestrator's): judged, then remembered."""
        return self.judge_row(run_row(rec))


def assess(rows: Sequence[Mapping[str, Any]], margin: float) -> list[Regression | None]:
    """Each row's regression (None where not judged), in the order given."""
    history = RunHistory(margin)
    out: list[Regression | None] = [None] * len(rows)
    order = sorted(
        (i for i, r in enumerate(rows) if judged(r)),
        key=lambda i: (rows[i]["start_unix"], str(rows[i]["path"])),
    )
    for i in order:
        out[i] = history.judge_row(rows[i])
    return out


# --- the history frame -------------------------------------------------------------------------

HISTORY_COLUMNS = aggregate(
    ("results_dir", pl.Utf8),
    ("run_dir", pl.Utf8),
    ("path", pl.Utf8),
    ("run_id", pl.Utf8),
    ("kind", pl.Utf8),
    ("plan_id", pl.Utf8),
    ("stage", pl.Utf8),
    ("node", pl.Utf8),
    ("benchmark", pl.Utf8),
    ("scenario", pl.Utf8),
    ("mode", pl.Utf8),
    ("group_id", pl.Utf8),
    ("samples_requested", pl.Int64),
    ("start_unix", pl.Float64),
    ("start", pl.Utf8),  # the start as UTC, for people
    ("state", pl.Utf8),
    ("ok", pl.Boolean),
    ("validity", pl.Utf8),
    ("simulated", pl.Boolean),
    ("metric_name", pl.Utf8),
    ("metric_value", pl.Float64),
    ("metric_unit", pl.Utf8),
    ("wall_throughput", pl.Float64),
    ("basis", pl.Utf8),
    ("value", pl.Float64),
    ("unit", pl.Utf8),
    ("previous_median", pl.Float64),
    ("previous_runs", pl.Int64),
    ("change", pl.Float64),
    ("regression", pl.Boolean),
)
GROUP_KEYS = ("node", "benchmark", "scenario", "mode")


@dataclass(frozen=True)
class History:
    """Recorded runs of one or more results dirs, one row per run (HISTORY_COLUMNS), sorted by
    node, benchmark, scenario, mode and start; `regressions` by run dir path."""

    dirs: tuple[Path, ...]
    runs: pl.DataFrame
    margin: float
    margin_source: str
    regressions: Mapping[str, Regression]

    @property
    def plans(self) -> int:
        """How many plans the journals name for these runs (runs of unknown plan: none)."""
        return self.runs["plan_id"].drop_nulls().n_unique()

    @property
    def flagged(self) -> pl.DataFrame:
        return self.runs.filter(pl.col("regression"))

    def regression_of(self, path: str | Path) -> Regression | None:
        return self.regressions.get(str(path))


def _utc(t: float | None) -> str | None:
    return None if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


def resolve_margin(
    records: Sequence[RecordedRun], margin: float | None, source: str = "caller"
) -> tuple[float, str]:
    """The margin and where it came from: the caller's (named by `source`), else the newest
    run's config snapshot (`settings.regression_margin`), else the default."""
    if margin is not None:
        return margin, source
    value, path = snapshot_setting(records, "regression_margin")
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1:
        return float(value), str(path)
    return DEFAULT_MARGIN, MARGIN_DEFAULT_SOURCE


def history_rows(
    root: Path, rows: Iterable[Mapping[str, Any]], plans: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The runs frame's rows of one results dir with what the history adds (no judgement)."""
    keep = [c.name for c in HISTORY_COLUMNS]
    out = []
    for r in rows:
        m = measure_of(r)
        row = {k: r[k] for k in keep if k in r}  # the runs frame's; the rest below
        row |= {
            "results_dir": str(root),
            "plan_id": plans.get(r["run_dir"]),
            "start": _utc(r["start_unix"]),
            "basis": m.basis if m else None,
            "value": m.value if m else None,
            "unit": m.unit if m else None,
        }
        out.append(row)
    return out


def load_history(
    dirs: Sequence[str | Path], margin: float | None = None, *, source: str = "caller"
) -> History:
    """Every run under each of `dirs` (a dir given twice counts once), judged in start order.

    `margin` None: see `resolve_margin`. A missing or empty dir adds nothing (the CLI refuses
    a path that is not a directory before calling this)."""
    rows: list[dict[str, Any]] = []
    records: list[RecordedRun] = []
    seen: set[Path] = set()
    for d in dirs:
        root = Path(d)
        if root.resolve() in seen:
            continue
        seen.add(root.resolve())
        results = load_results(root)
        records += results.run_records
        plans = plans_of_runs(ResultsStore(root).journal_entries())
        rows += history_rows(root, results.runs.to_dicts(), plans)
    records.sort(key=lambda r: r.summary.wall.start_unix or 0.0)
    value, source = resolve_margin(records, margin, source)
    verdicts = assess(rows, value)
    regressions = {}
    for row, verdict in zip(rows, verdicts, strict=True):
        if verdict is not None:
            regressions[str(row["path"])] = verdict
            row |= {
                "previous_median": verdict.previous_median,
                "previous_runs": verdict.previous_runs,
                "change": verdict.change,
                # Not compared (no earlier run of its kind): neither flagged nor cleared.
                "regression": verdict.flagged if verdict.previous_runs else None,
            }
    frame = frame_of(HISTORY_COLUMNS, rows).sort(
        [*GROUP_KEYS, "start_unix", "path"], nulls_last=True
    )
    return History(tuple(Path(d) for d in dirs), frame, value, source, regressions)
