"""Every recorded run across days and results dirs, as one polars frame (HISTORY_COLUMNS),
with each run's regression verdict (`engine.analysis.regression`, the one check).

Rows are the runs frame's (`engine.analysis.frames.load_results`, from the typed summaries)
plus the plan each run belongs to (the journal's plan lines) and the verdict. `mlconsole
history`, the console's history screen, the history chart and the reports read this.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from engine.analysis.columns import FAMILY, FAMILY_COLUMNS, aggregate, frame_of
from engine.analysis.frames import Results, load_results, snapshot_setting
from engine.analysis.regression import (
    DEFAULT_MARGIN,
    MARGIN_DEFAULT_SOURCE,
    assess,
    measure_of,
    not_judged,
    search_steps,
)
from engine.checks.regression import Regression
from engine.results.plan_journal import plans_of_runs
from engine.results.store import RecordedRun, ResultsStore

# --- the history frame -------------------------------------------------------------------------

HISTORY_COLUMNS = aggregate(
    ("results_dir", pl.Utf8),
    ("run_dir", pl.Utf8),
    ("path", pl.Utf8),
    ("run_id", pl.Utf8),
    ("kind", pl.Utf8),
    ("plan_id", pl.Utf8),
    ("stage", pl.Utf8),
    *FAMILY_COLUMNS,
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
    ("not_judged", pl.Utf8),  # why the run was not judged (None: judged)
    ("compliance_test", pl.Utf8),
)
GROUP_KEYS = FAMILY


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
    seen: dict[Path, Path] = {}
    for d in dirs:
        seen.setdefault(Path(d).resolve(), Path(d))
    return history_of([load_results(d) for d in seen.values()], margin, source=source)


def history_of(
    results: Sequence[Results], margin: float | None = None, *, source: str = "caller"
) -> History:
    """The history of results already read (the reports have theirs)."""
    rows: list[dict[str, Any]] = []
    records: list[RecordedRun] = []
    skip: set[str] = set()
    for res in results:
        records += res.run_records
        plans = plans_of_runs(ResultsStore(res.results_dir).journal_entries())
        rows += history_rows(res.results_dir, res.runs.to_dicts(), plans)
        skip |= search_steps(res.results_dir)
    records.sort(key=lambda r: r.summary.wall.start_unix or 0.0)
    value, source = resolve_margin(records, margin, source)
    regressions = {}
    for row in rows:
        row["not_judged"] = not_judged(row, skip)
    for row, verdict in zip(rows, assess(rows, value, skip), strict=True):
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
    dirs = tuple(res.results_dir for res in results)
    return History(dirs, frame, value, source, regressions)
