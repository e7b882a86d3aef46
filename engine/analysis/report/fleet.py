"""The pipeline report's fleet sections: each fleet run as the one LoadGen result it is, each
node's share of it, and the throughput-vs-interactivity table of a concurrency sweep.

Rows come from `engine.analysis.fleet_frames`; LoadGen's figures are quoted as recorded, the
client-side latencies (measured from each request's send) are named as such.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.analysis.report.format import MISSING, exact, missing, num, seconds, table
from engine.results.summary import FLEET_LABEL as ONE_RESULT
from engine.results.summary import group_label

SEPARATE_RUNS = group_label()
INTERACTIVITY_CHART = "throughput_interactivity.png"


def _ms(x: float | None) -> str:
    return MISSING if x is None else f"{num(x * 1000)} ms"


def _share(x: float | None) -> str:
    return MISSING if x is None else f"{num(100 * x, 3)}%"


def _metric(value: float | None, unit: str | None, why: str) -> str:
    return f"{exact(value)} {unit or ''}".rstrip() if value is not None else missing(why)


def fleet_sections(
    fleets: Sequence[Mapping[str, Any]], endpoints: Sequence[Mapping[str, Any]]
) -> list[str]:
    out = [f"### Fleet runs: {ONE_RESULT} each", ""]
    if not fleets:
        return [*out, "No fleet run recorded."]
    out += [
        "One LoadGen on the controller sent every query to the endpoints of the nodes listed; "
        "its figures are LoadGen's own, for the whole fleet (an MLPerf result of one SUT). "
        "Per-node shares, TTFT and TPOT below are measured by the controller's client from "
        "each request's send.",
        "",
    ]
    rows = []
    for f in fleets:
        left_out = f", left out: {', '.join(f['excluded'])}" if f["excluded"] else ""
        rows.append(
            [
                f"{f['run_id']} (`{f['run_dir']}`)",
                ", ".join(f["nodes"]) + left_out,
                f"{f['scenario']} / {f['mode']}",
                f"{num(f['samples_processed'])} of {num(f['samples_requested'])}",
                _metric(f["metric_value"], f["metric_unit"], "no LoadGen metric"),
                _metric(f["token_metric_value"], f["token_metric_unit"], "no token metric"),
                "**INVALID**" if f["validity"] == "INVALID" else (f["validity"] or MISSING),
                f"{num(f['retries'])} / {num(f['failed'])}",
                seconds(f["duration_s"]),
                f["state"] or MISSING,
            ]
        )
    out += table(
        [
            "Fleet run (dir)",
            "Nodes",
            "Scenario / mode",
            "Samples",
            "LoadGen metric",
            "LoadGen token metric",
            "Validity",
            "Retries / failed queries",
            "Duration",
            "State",
        ],
        rows,
    )
    for f in fleets:
        if f["state"] != "succeeded" and f["exit_detail"]:
            out += ["", f"- {f['run_id']}: {f['exit_detail']}"]
    for f in fleets:
        mine = [e for e in endpoints if e["run_dir"] == f["run_dir"]]
        if not mine:
            continue
        out += ["", f"#### {f['run_id']}: each node's share", ""]
        out += table(
            [
                "Node",
                "Queries (share)",
                "Output tokens (share)",
                "Tokens/s while serving",
                "TTFT p50 / p90 (client)",
                "TPOT p50 / p90 (client)",
                "Errors",
                "Retried elsewhere",
                "State",
            ],
            [
                [
                    e["node"],
                    f"{num(e['queries'])} ({_share(e['query_share'])})",
                    f"{num(e['output_tokens'])} ({_share(e['token_share'])})",
                    num(e["tokens_per_s"]),
                    f"{_ms(e['ttft_p50_s'])} / {_ms(e['ttft_p90_s'])}",
                    f"{_ms(e['tpot_p50_s'])} / {_ms(e['tpot_p90_s'])}",
                    f"{num(e['errors'])}" + (f" ({e['error_kinds']})" if e["error_kinds"] else ""),
                    num(e["retried_away"]),
                    e["state"] or MISSING,
                ]
                for e in mine
            ],
        )
    return out + sweep_sections(fleets)


def sweep_sections(fleets: Sequence[Mapping[str, Any]]) -> list[str]:
    out: list[str] = []
    sweeps: dict[str, list[Mapping[str, Any]]] = {}
    for f in fleets:
        if f["sweep"]:
            sweeps.setdefault(f["fleet_id"] or "", []).append(f)
    for points in sweeps.values():
        points = sorted(points, key=lambda p: p["concurrency"] or 0)
        out += [
            "",
            f"### Concurrency sweep {points[0]['stage']}: throughput vs interactivity",
            "",
            "Each row is one fleet run at a limit on queries in flight. System tokens/s is "
            "LoadGen's token rate; tokens/s per user is 1 / TPOT p90 and TTFT p90 is measured "
            "from each request's send, as MLPerf Endpoints reports them "
            f"(chart: `charts/{INTERACTIVITY_CHART}`).",
            "",
        ]
        out += table(
            [
                "Concurrency",
                "System tokens/s (LoadGen)",
                "Tokens/s per user (1/TPOT p90)",
                "TTFT p90",
                "Validity",
                "Run dir",
            ],
            [
                [
                    num(p["concurrency"]),
                    _metric(p["system_tokens_per_s"], "tokens/s", "no token metric"),
                    num(p["tokens_per_user"])
                    if p["tokens_per_user"] is not None
                    else missing("no TPOT"),
                    _ms(p["ttft_p90_s"]),
                    p["validity"] or MISSING,
                    f"`{p['run_dir']}`",
                ]
                for p in points
            ],
        )
    return out
