"""The Server QPS search's chart: each step's target QPS in order, VALID and INVALID apart,
the confirmed QPS and the lowest INVALID one as lines, from qps_search.json alone."""

from __future__ import annotations

from pathlib import Path

from engine.analysis.charts import _figure, _save
from engine.checks.qps_search import QpsSearchResult


def qps_search_chart(result: QpsSearchResult, path: Path) -> Path:
    fig = _figure(7.0, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    for kind, marker in (("short", "o"), ("confirm", "s")):
        for valid, color, word in ((True, "#2a9d8f", "VALID"), (False, "#e76f51", "INVALID")):
            pts = [(s.index, s.qps) for s in result.steps if s.kind == kind and s.valid == valid]
            if pts:
                ax.scatter([p[0] for p in pts], [p[1] for p in pts], marker=marker, color=color,
                           s=48, label=f"{kind} run, {word}", zorder=3)  # fmt: skip
    ax.plot([s.index for s in result.steps], [s.qps for s in result.steps], color="#999999",
            linewidth=0.8, zorder=2)  # fmt: skip
    if result.found_qps is not None:
        ax.axhline(result.found_qps, color="#2a9d8f", linestyle="--", linewidth=1,
                   label=f"confirmed {result.found_qps:.4g} QPS")  # fmt: skip
    if result.lowest_invalid is not None:
        ax.axhline(result.lowest_invalid, color="#e76f51", linestyle=":", linewidth=1,
                   label=f"lowest INVALID {result.lowest_invalid:.4g} QPS")  # fmt: skip
    ax.set_xlabel("step")
    ax.set_ylabel("target QPS (Server)")
    ax.set_title(f"QPS search {result.name} on {result.node} ({result.benchmark})")
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    return _save(fig, path)
