"""Markdown reports: one per run (in its run dir) and the pipeline report (in reports/).

The public entry points live here; the per-run text is `report.run`, the pipeline report
`report.pipeline`, number formatting `report.format`. Everything is rebuilt from recorded
summaries alone, so `rebuild_reports` can run any time (`mlconsole report`, the TUI's
export key, the end of a plan) and gives the same files for the same results.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from engine.analysis.report.run import read_recorded_run, write_recorded_run_report, write_text

if TYPE_CHECKING:
    from engine.analysis.chart_process import ChartProcess
    from engine.analysis.charts import ChartData
    from engine.analysis.frames import Results
    from engine.analysis.history import History
    from engine.analysis.history_chart import HistoryChartData
    from engine.checks.regression import Regression

CHARTS_DIR = "charts"


def write_run_report(run_dir: Path, regression: Regression | None = None) -> Path:
    """Write `<node>_comprehensive_report.md` into `run_dir` from its orchestrator_summary.json
    (and the run's regression verdict, when judged).

    Raises `MlconsoleError` (one sentence) when the run dir has no readable summary."""
    return write_recorded_run_report(read_recorded_run(Path(run_dir)), regression)


def draw_charts(
    results: Results | ChartData,
    history: History | HistoryChartData | None,
    charts_dir: Path,
    part: int = 0,
    parts: int = 1,
) -> list[Path]:
    """Every chart's PNG in `charts_dir`, the history chart last when `history` is given; run
    in this process or (given plain `ChartData`) by a `ChartProcess`'s workers, each drawing
    its `part` of `parts` (see `write_charts`; the history chart is the last part's)."""
    from engine.analysis.charts import write_charts

    written = write_charts(results, charts_dir, part, parts)
    if history is not None and part == parts - 1:
        from engine.analysis.history_chart import HISTORY, write_history_chart

        written.append(write_history_chart(history, charts_dir / HISTORY))
    return written


def _draw_in(
    chart_process: ChartProcess,
    results: Results,
    history: History | None,
    charts_dir: Path,
) -> list[Path]:
    """The charts, shared among the process's workers; in the order `draw_charts` gives."""
    from engine.analysis.charts import ChartData
    from engine.analysis.history_chart import HISTORY, HistoryChartData

    data = ChartData.of(results)
    over = HistoryChartData.of(history) if history is not None else None
    parts = chart_process.workers
    drawn = chart_process.run(
        [(draw_charts, (data, over, charts_dir, part, parts)) for part in range(parts)]
    )
    # Part k holds charts k, k + parts, ...: interleave them back; the history chart is last.
    out: list[Path] = []
    for i in range(max(len(d) for d in drawn)):
        out += [d[i] for d in drawn if i < len(d)]
    if over is not None:
        out.append(out.pop(next(i for i, p in enumerate(out) if p.name == HISTORY)))
    return out


def _pipeline(
    results: Results,
    reports_dir: Path,
    charts: bool,
    history: History | None = None,
    chart_process: ChartProcess | None = None,
) -> list[Path]:
    from engine.analysis.history import history_of
    from engine.analysis.report.pipeline import PIPELINE_REPORT, render_pipeline_report

    reports_dir.mkdir(parents=True, exist_ok=True)
    history = history or history_of([results])
    written: list[Path] = []
    # One plan's runs over time say little the other charts don't.
    over_time = history if history.plans > 1 else None
    if charts and chart_process is not None:
        written = _draw_in(chart_process, results, over_time, reports_dir / CHARTS_DIR)
    elif charts:
        written = draw_charts(results, over_time, reports_dir / CHARTS_DIR)
    text = render_pipeline_report(results, reports_dir, written, history)
    return [*written, write_text(reports_dir / PIPELINE_REPORT, text)]


def write_pipeline_report(
    results_dir: Path,
    reports_dir: Path,
    *,
    charts: bool = True,
    baseline_node: str | None = None,
) -> list[Path]:
    """Write reports/charts/*.png (unless `charts` is False) and
    reports/mlconsole_pipeline_report.md; returns the paths written.

    `baseline_node`: the node others are compared with (see
    `engine.analysis.frames.load_results`)."""
    from engine.analysis.frames import load_results

    results = load_results(results_dir, baseline_node=baseline_node)
    return _pipeline(results, Path(reports_dir), charts)


def rebuild_reports(
    results_dir: Path,
    reports_dir: Path,
    *,
    baseline_node: str | None = None,
    skipped: Callable[[str], None] | None = None,
    chart_process: ChartProcess | None = None,
) -> list[Path]:
    """Every run's report, the charts and the pipeline report, from the summaries under
    `results_dir` read once. Idempotent: unchanged results leave the files byte-identical.

    `skipped` is told, before anything is written, one sentence per summary that could not
    be read (and is left out). `chart_process`: a `ChartProcess` started for this call, which
    then draws the charts (`mlconsole report` forks one before its imports); None: they are
    drawn here."""
    from engine.analysis.frames import load_results

    results_dir, reports_dir = Path(results_dir), Path(reports_dir)
    results = load_results(results_dir, baseline_node=baseline_node)
    for problem in results.unreadable if skipped is not None else ():
        skipped(problem)
    from engine.analysis.history import history_of
    from engine.analysis.report.qps import write_search_reports

    history = history_of([results])

    def run_reports() -> list[Path]:
        return [
            write_recorded_run_report(rec, history.regression_of(rec.run_dir))
            for rec in results.run_records
        ]

    # Every run's report is written by a thread while this one draws the charts: a new file
    # costs about 0.7 ms of kernel time here (0.6 s for 1,000 reports, cold), which runs
    # outside the GIL, so it overlaps the charts' drawing instead of adding to it.
    with ThreadPoolExecutor(1, thread_name_prefix="mlconsole-run-reports") as pool:
        runs = pool.submit(run_reports)
        rest = _pipeline(results, reports_dir, True, history, chart_process)
        return runs.result() + write_search_reports(results_dir, reports_dir) + rest
