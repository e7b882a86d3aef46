"""The Server QPS searches' reports: one markdown file and one chart per search, rebuilt
from each search dir's qps_search.json (results/qps_<name>_<ts>/)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from engine.checks.qps_search import SEARCH_FILE, QpsSearchResult, steps_table


def search_results(results_dir: Path) -> list[tuple[Path, QpsSearchResult]]:
    """Every readable qps_search.json under results_dir, in dir-name order (a broken one is
    passed over: its runs have their own summaries)."""
    out = []
    for path in sorted(results_dir.glob(f"qps_*/{SEARCH_FILE}")):
        try:
            out.append((path.parent, QpsSearchResult.from_json(json.loads(path.read_text()))))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return out


def render_search_report(source: str, result: QpsSearchResult, chart: Path | None) -> str:
    """`source`: qps_search.json's path relative to the report (reports write no machine
    path, docs/reports.md)."""
    found = "—" if result.found_qps is None else f"{result.found_qps:.6g}"
    margin = "—" if result.margin is None else f"{result.margin * 100:.2f}%"
    out = [
        f"# Server QPS search: {result.name} on {result.node}",
        "",
        f"- Benchmark: {result.benchmark}; bracket {result.low_qps:g} to {result.high_qps:g} "
        f"QPS, tolerance {result.tolerance * 100:g}%, backoff {result.backoff * 100:g}%",
        f"- Source: [{SEARCH_FILE}]({source}) (each step's run has its own run dir)",
        f"- Found QPS (confirmed VALID by a full-length run): **{found}**",
        f"- Margin to the lowest INVALID QPS ({result.lowest_invalid or '—'}): {margin}",
        f"- {result.line()}",
        "",
        "VALID is LoadGen's own verdict for each run. Short runs are development runs: only the "
        "full-length confirmation stands for the found QPS.",
        "",
        *steps_table(result.steps),
    ]
    if chart is not None:
        out += ["", f"![QPS search]({chart})"]
    return "\n".join(out) + "\n"


def write_search_reports(results_dir: Path, reports_dir: Path) -> list[Path]:
    from engine.analysis.qps_chart import qps_search_chart
    from engine.analysis.report.run import write_text

    paths: list[Path] = []
    found = search_results(results_dir)
    if found:
        (reports_dir / "charts").mkdir(parents=True, exist_ok=True)
    for search_dir, result in found:
        stem = f"qps_search_{search_dir.name}"
        png = Path("charts") / f"{stem}.png"
        chart = qps_search_chart(result, reports_dir / png) if result.steps else None
        source = os.path.relpath(search_dir / SEARCH_FILE, reports_dir)
        text = render_search_report(source, result, png if chart else None)
        paths += [p for p in (chart,) if p] + [write_text(reports_dir / f"{stem}.md", text)]
    return paths
