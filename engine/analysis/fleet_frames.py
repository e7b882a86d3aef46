"""Frames over fleet runs: one row per fleet run (one LoadGen result over many nodes) and one
row per endpoint of each, read from the typed run summary and its `fleet` block
(`engine.results.summary.build_fleet_block`). Derived figures come from `engine.figures`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from engine import figures
from engine.results.store import RecordedRun

FLEET_KIND = "fleet"

FLEET_SCHEMA: dict[str, Any] = {
    "run_dir": pl.Utf8,
    "run_id": pl.Utf8,
    "fleet_id": pl.Utf8,
    "stage": pl.Utf8,
    "nodes": pl.List(pl.Utf8),
    "excluded": pl.List(pl.Utf8),
    "service": pl.Utf8,
    "sweep": pl.Boolean,
    "concurrency": pl.Int64,
    "benchmark": pl.Utf8,
    "scenario": pl.Utf8,
    "mode": pl.Utf8,
    "simulated": pl.Boolean,
    "dataset_size": pl.Int64,
    "samples_requested": pl.Int64,
    "samples_processed": pl.Int64,
    "duration_s": pl.Float64,
    "state": pl.Utf8,
    "ok": pl.Boolean,
    "exit_detail": pl.Utf8,
    "validity": pl.Utf8,
    "metric_name": pl.Utf8,
    "metric_value": pl.Float64,
    "metric_unit": pl.Utf8,
    "token_metric_name": pl.Utf8,
    "token_metric_value": pl.Float64,
    "token_metric_unit": pl.Utf8,
    "system_tokens_per_s": pl.Float64,
    "tokens_per_user": pl.Float64,
    "ttft_p90_s": pl.Float64,
    "tpot_p90_s": pl.Float64,
    "completed": pl.Int64,
    "failed": pl.Int64,
    "retries": pl.Int64,
    "output_tokens": pl.Int64,
    "sut_name": pl.Utf8,
}

ENDPOINT_SCHEMA: dict[str, Any] = {
    "run_dir": pl.Utf8,
    "run_id": pl.Utf8,
    "node": pl.Utf8,
    "state": pl.Utf8,
    "queries": pl.Int64,
    "output_tokens": pl.Int64,
    "query_share": pl.Float64,
    "token_share": pl.Float64,
    "tokens_per_s": pl.Float64,
    "errors": pl.Int64,
    "error_kinds": pl.Utf8,
    "retried_away": pl.Int64,
    "ttft_p50_s": pl.Float64,
    "ttft_p90_s": pl.Float64,
    "tpot_p50_s": pl.Float64,
    "tpot_p90_s": pl.Float64,
}


def _d(x: Any) -> Mapping[str, Any]:
    return x if isinstance(x, Mapping) else {}


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def _int(x: Any) -> int | None:
    return int(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def _str(x: Any) -> str | None:
    return None if x is None else str(x)


def fleet_row(rec: RecordedRun) -> dict[str, Any]:
    s = rec.summary
    fleet = _d(s.fleet)
    metric, token = s.loadgen.metric, s.loadgen.token_metric
    inter = _d(fleet.get("interactivity"))
    token_value = token.value if token else None
    token_unit = token.unit if token else None
    return {
        "run_dir": rec.run_dir.name,
        "run_id": s.run_id,
        "fleet_id": _str(fleet.get("fleet_id")),
        "stage": _str(fleet.get("stage")),
        "nodes": [str(n) for n in fleet.get("nodes") or ()],
        "excluded": [str(_d(e).get("node")) for e in fleet.get("excluded") or ()],
        "service": _str(fleet.get("service")),
        "sweep": bool(fleet.get("sweep")),
        "concurrency": _int(fleet.get("concurrency")),
        "benchmark": s.benchmark,
        "scenario": s.scenario,
        "mode": s.mode,
        "simulated": s.simulated,
        "dataset_size": s.dataset_size,
        "samples_requested": s.samples_requested,
        "samples_processed": s.samples_processed,
        "duration_s": s.wall.duration_s,
        "state": s.state.value if s.state else None,
        "ok": s.ok,
        "exit_detail": s.exit.detail,
        "validity": s.loadgen.validity,
        "metric_name": metric.name if metric else None,
        "metric_value": metric.value if metric else None,
        "metric_unit": metric.unit if metric else None,
        "token_metric_name": token.name if token else None,
        "token_metric_value": token_value,
        "token_metric_unit": token_unit,
        # System throughput is LoadGen's own token rate (Endpoints' system_tps).
        "system_tokens_per_s": token_value if token_unit == "tokens/s" else None,
        "tokens_per_user": figures.tokens_per_user(_num(inter.get("tpot_p90_s"))),
        "ttft_p90_s": _num(inter.get("ttft_p90_s")),
        "tpot_p90_s": _num(inter.get("tpot_p90_s")),
        "completed": _int(fleet.get("completed")),
        "failed": _int(fleet.get("failed")),
        "retries": _int(fleet.get("retries")),
        "output_tokens": _int(fleet.get("output_tokens")),
        "sut_name": _str(fleet.get("sut_name")),
    }


def endpoint_rows(rec: RecordedRun) -> list[dict[str, Any]]:
    s = rec.summary
    out = []
    for e in _d(s.fleet).get("endpoints") or ():
        e = _d(e)
        ttft, tpot, errors = _d(e.get("ttft_s")), _d(e.get("tpot_s")), _d(e.get("errors"))
        out.append(
            {
                "run_dir": rec.run_dir.name,
                "run_id": s.run_id,
                "node": _str(e.get("node")),
                "state": _str(e.get("state")),
                "queries": _int(e.get("queries")),
                "output_tokens": _int(e.get("output_tokens")),
                "query_share": _num(e.get("query_share")),
                "token_share": _num(e.get("token_share")),
                "tokens_per_s": _num(e.get("tokens_per_s")),
                "errors": _int(e.get("error_count")),
                "error_kinds": ", ".join(f"{k} {v}" for k, v in sorted(errors.items())) or None,
                "retried_away": _int(e.get("retried_away")),
                "ttft_p50_s": _num(ttft.get("p50")),
                "ttft_p90_s": _num(ttft.get("p90")),
                "tpot_p50_s": _num(tpot.get("p50")),
                "tpot_p90_s": _num(tpot.get("p90")),
            }
        )
    return out


def _frame(rows: Sequence[Mapping[str, Any]], schema: Mapping[str, Any]) -> pl.DataFrame:
    return pl.DataFrame({k: [r.get(k) for r in rows] for k in schema}, schema=dict(schema))


def fleet_frames(records: Sequence[RecordedRun]) -> tuple[pl.DataFrame, pl.DataFrame]:
    fleets = [r for r in records if r.summary.kind == FLEET_KIND]
    return (
        _frame([fleet_row(r) for r in fleets], FLEET_SCHEMA),
        _frame([row for r in fleets for row in endpoint_rows(r)], ENDPOINT_SCHEMA),
    )
