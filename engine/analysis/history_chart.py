"""The history chart: each node's figure over time, one panel per benchmark, scenario, mode and
figure (the LoadGen metric, or the wall throughput where a run has no metric), from the
history frame alone (`engine.analysis.history`). Runs flagged as regressions are marked.

Only single runs whose results stand are drawn (a group's shards run beside others and have
their own families); a run without a figure is left out, never drawn as 0. The style is
`engine.analysis.charts`' (its figure, colors, notes and atomic save). Like those charts it
draws from plain rows (`HistoryChartData`), so it can be drawn where polars is not imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import units
from engine.analysis.charts import _colors, _figure, _note, _save

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from engine.analysis.history import History

HISTORY = "history.png"
MAX_PANELS = 6  # more families than this would make panels too small to read; the title says


def _panels(history: History) -> list[tuple[tuple[Any, ...], list[dict[str, Any]]]]:
    import polars as pl

    frame = history.runs.filter(
        pl.col("ok")
        & pl.col("group_id").is_null()
        & pl.col("value").is_not_null()
        & pl.col("start_unix").is_not_null()
        & (pl.col("kind") != "fleet")
    )
    out: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in frame.sort("start_unix").to_dicts():
        key = (r["benchmark"], r["scenario"], r["mode"], r["basis"], r["unit"])
        out.setdefault(key, []).append(r)
    return sorted(out.items(), key=lambda kv: str(kv[0]))


@dataclass(frozen=True)
class HistoryChartData:
    """What the chart reads from a `History`: its panels' rows, whether any run was simulated,
    the regression margin."""

    panels: list[tuple[tuple[Any, ...], list[dict[str, Any]]]]
    simulated: bool
    margin: float

    @classmethod
    def of(cls, history: History | HistoryChartData) -> HistoryChartData:
        if isinstance(history, HistoryChartData):
            return history
        simulated = bool(history.runs["simulated"].any())
        return cls(panels=_panels(history), simulated=simulated, margin=history.margin)


def history_figure(history: History | HistoryChartData) -> Figure:
    history = HistoryChartData.of(history)
    panels = history.panels
    shown = panels[:MAX_PANELS]
    fig = _figure(9, 3.2 * max(1, len(shown)) + 0.6)
    simulated = " (simulated node speeds)" if history.simulated else ""
    more = (
        f"; {len(panels) - len(shown)} more families not drawn" if len(panels) > len(shown) else ""
    )
    fig.suptitle(f"Figure over time per node{simulated}{more}", fontsize=10)
    if not shown:
        _note(fig.add_subplot(1, 1, 1), "no completed single run with a figure recorded")
        return fig
    colors = _colors([r["node"] for _, rows in shown for r in rows])
    margin = units.num(history.margin * 100, 3)
    for i, ((bench, scen, mode, basis, unit), rows) in enumerate(shown, start=1):
        ax = fig.add_subplot(len(shown), 1, i)
        for node in sorted({r["node"] for r in rows}):
            pts = [r for r in rows if r["node"] == node]
            ax.plot(
                [_when(r) for r in pts],
                [r["value"] for r in pts],
                marker="o",
                markersize=4,
                color=colors[node],
                label=node,
            )
        flagged = [r for r in rows if r["regression"]]
        if flagged:
            ax.scatter(
                [_when(r) for r in flagged],
                [r["value"] for r in flagged],
                marker="x",
                s=70,
                color="#c44e52",
                zorder=4,
                label=f"regression (> {margin}% below the previous median)",
            )
        ax.set_title(f"{bench} {scen} {mode}: {basis}", fontsize=9)
        ax.set_ylabel(f"{basis} ({unit})", fontsize=8)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="best")
    ax.set_xlabel("run start (UTC)", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def _when(row: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(row["start_unix"], tz=UTC)


def write_history_chart(history: History | HistoryChartData, path: Path) -> Path:
    """Write the chart as a PNG at `path` (its folder created if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return _save(history_figure(history), path)
