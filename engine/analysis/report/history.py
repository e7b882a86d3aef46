"""The pipeline report's "History and regressions" section: which runs fell more than the
margin below their node's previous median (engine.analysis.regression's verdicts, carried by
the history frame), and the history chart when the results hold more than one plan."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine import units
from engine.analysis.history import History
from engine.analysis.report.format import MISSING, num

REGRESSION_WORD = "REGRESSION"


def history_section(
    history: History,
    run_link: Callable[[Mapping[str, Any]], str],
    chart: str | None,
    margin_source: str,
) -> list[str]:
    """`margin_source`: where the margin came from, as the report writes it (a snapshot's
    path relative to the report)."""
    margin = units.num(history.margin * 100, 3)
    rows = history.runs.to_dicts()
    judged = [r for r in rows if r["previous_runs"]]
    flagged = [r for r in rows if r["regression"]]
    out = [
        "## History and regressions",
        "",
        "Each run's figure, the LoadGen metric (else the wall throughput; the table says which), "
        "against the median of the same node's earlier runs of the same benchmark, scenario, "
        f"mode and sample count: a run more than {margin}% worse is flagged as a regression "
        f"(margin {margin}%: {margin_source}). {len(judged)} of {len(rows)} runs had earlier "
        "runs to compare with.",
        "",
    ]
    if not flagged:
        out.append("No run is flagged as a regression.")
    else:
        out += [
            "| Run dir | Node | Benchmark | Scenario | Figure | Value | Previous median | "
            "Previous runs | Change |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in flagged:
            cells = (
                run_link(r),
                r["node"],
                r["benchmark"],
                r["scenario"],
                r["basis"],
                f"{num(r['value'])} {r['unit']}",
                f"{num(r['previous_median'])} {r['unit']}",
                str(r["previous_runs"]),
                units.signed_percent(r["change"] * 100) if r["change"] is not None else MISSING,
            )
            out.append("| " + " | ".join(str(c) for c in cells) + " |")
    if chart:
        out += [
            "",
            f"The results hold {history.plans} plans: each node's figure over time.",
            "",
            f"![history]({chart})",
        ]
    return out


def regression_note(history: History | None, path: str) -> str:
    """ " — REGRESSION" after a flagged run's state in the report's tables, else ""."""
    verdict = history.regression_of(path) if history is not None else None
    return f" — {REGRESSION_WORD}" if verdict is not None and verdict.flagged else ""
