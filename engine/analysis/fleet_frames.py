"""Frames over fleet runs: one row per fleet run (one LoadGen result over many nodes) and one
row per endpoint of each, read from the typed run summary and its `fleet` block
(`engine.results.summary.build_fleet_block`). Derived figures come from `engine.figures`.
Each frame's columns are declared once (`engine.analysis.columns.Column`): name, polars type
and where in the summary it is read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from engine import figures
from engine.analysis.columns import Column, frame_of, rows_of
from engine.results.schema import RunSummary
from engine.results.store import RecordedRun

FLEET_KIND = "fleet"

def _d(x: Any) -> Mapping[str, Any]:
    return x if isinstance(x, Mapping) else {}


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def _int(x: Any) -> int | None:
    return int(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def _str(x: Any) -> str | None:
    return None if x is None else str(x)


@dataclass(frozen=True)
class _Fleet:
    """A fleet run as its columns read it: the record and its summary's `fleet` block."""

    rec: RecordedRun
    block: Mapping[str, Any]

    @property
    def summary(self) -> RunSummary:
        return self.rec.summary

    @property
    def interactivity(self) -> Mapping[str, Any]:
        return _d(self.block.get("interactivity"))


@dataclass(frozen=True)
class _Endpoint:
    """One endpoint of a fleet run: the run's record and the endpoint's entry in the block."""

    rec: RecordedRun
    block: Mapping[str, Any]


def _in_block(key: str, kind: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The `fleet` block's (or an endpoint entry's) `key`, as `kind` reads it."""
    return lambda item: kind(item.block.get(key))


def _of_summary(read: Callable[[RunSummary], Any]) -> Callable[[_Fleet], Any]:
    return lambda f: read(f.summary)


def _metric_part(which: str, part: str) -> Callable[[_Fleet], Any]:
    """`part` (name, value, unit) of the summary's LoadGen `which` metric; None without one."""

    def read(f: _Fleet) -> Any:
        metric = getattr(f.summary.loadgen, which)
        return getattr(metric, part) if metric else None

    return read


def _system_tokens_per_s(f: _Fleet) -> float | None:
    """System throughput is LoadGen's own token rate (Endpoints' system_tps)."""
    token = f.summary.loadgen.token_metric
    return token.value if token and token.unit == "tokens/s" else None


def _percentile(dist: str, p: str) -> Callable[[_Endpoint], Any]:
    return lambda e: _num(_d(e.block.get(dist)).get(p))


def _error_kinds(e: _Endpoint) -> str | None:
    errors = _d(e.block.get("errors"))
    return ", ".join(f"{k} {v}" for k, v in sorted(errors.items())) or None


FLEET_COLUMNS: tuple[Column[_Fleet], ...] = (
    Column("run_dir", pl.Utf8, lambda f: f.rec.run_dir.name),
    Column("run_id", pl.Utf8, _of_summary(lambda s: s.run_id)),
    Column("fleet_id", pl.Utf8, _in_block("fleet_id", _str)),
    Column("stage", pl.Utf8, _in_block("stage", _str)),
    Column("nodes", pl.List(pl.Utf8), lambda f: [str(n) for n in f.block.get("nodes") or ()]),
    Column("excluded", pl.List(pl.Utf8),
           lambda f: [str(_d(e).get("node")) for e in f.block.get("excluded") or ()]),
    Column("service", pl.Utf8, _in_block("service", _str)),
    Column("sweep", pl.Boolean, _in_block("sweep", bool)),
    Column("concurrency", pl.Int64, _in_block("concurrency", _int)),
    Column("benchmark", pl.Utf8, _of_summary(lambda s: s.benchmark)),
    Column("scenario", pl.Utf8, _of_summary(lambda s: s.scenario)),
    Column("mode", pl.Utf8, _of_summary(lambda s: s.mode)),
    Column("simulated", pl.Boolean, _of_summary(lambda s: s.simulated)),
    Column("dataset_size", pl.Int64, _of_summary(lambda s: s.dataset_size)),
    Column("samples_requested", pl.Int64, _of_summary(lambda s: s.samples_requested)),
    Column("samples_processed", pl.Int64, _of_summary(lambda s: s.samples_processed)),
    Column("duration_s", pl.Float64, _of_summary(lambda s: s.wall.duration_s)),
    Column("state", pl.Utf8, _of_summary(lambda s: s.state.value if s.state else None)),
    Column("ok", pl.Boolean, _of_summary(lambda s: s.ok)),
    Column("exit_detail", pl.Utf8, _of_summary(lambda s: s.exit.detail)),
    Column("validity", pl.Utf8, _of_summary(lambda s: s.loadgen.validity)),
    Column("metric_name", pl.Utf8, _metric_part("metric", "name")),
    Column("metric_value", pl.Float64, _metric_part("metric", "value")),
    Column("metric_unit", pl.Utf8, _metric_part("metric", "unit")),
    Column("token_metric_name", pl.Utf8, _metric_part("token_metric", "name")),
    Column("token_metric_value", pl.Float64, _metric_part("token_metric", "value")),
    Column("token_metric_unit", pl.Utf8, _metric_part("token_metric", "unit")),
    Column("system_tokens_per_s", pl.Float64, _system_tokens_per_s),
    Column("tokens_per_user", pl.Float64,
           lambda f: figures.tokens_per_user(_num(f.interactivity.get("tpot_p90_s")))),
    Column("ttft_p90_s", pl.Float64, lambda f: _num(f.interactivity.get("ttft_p90_s"))),
    Column("tpot_p90_s", pl.Float64, lambda f: _num(f.interactivity.get("tpot_p90_s"))),
    Column("completed", pl.Int64, _in_block("completed", _int)),
    Column("failed", pl.Int64, _in_block("failed", _int)),
    Column("retries", pl.Int64, _in_block("retries", _int)),
    Column("output_tokens", pl.Int64, _in_block("output_tokens", _int)),
    Column("sut_name", pl.Utf8, _in_block("sut_name", _str)),
)  # fmt: skip

ENDPOINT_COLUMNS: tuple[Column[_Endpoint], ...] = (
    Column("run_dir", pl.Utf8, lambda e: e.rec.run_dir.name),
    Column("run_id", pl.Utf8, lambda e: e.rec.summary.run_id),
    Column("node", pl.Utf8, _in_block("node", _str)),
    Column("state", pl.Utf8, _in_block("state", _str)),
    Column("queries", pl.Int64, _in_block("queries", _int)),
    Column("output_tokens", pl.Int64, _in_block("output_tokens", _int)),
    Column("query_share", pl.Float64, _in_block("query_share", _num)),
    Column("token_share", pl.Float64, _in_block("token_share", _num)),
    Column("tokens_per_s", pl.Float64, _in_block("tokens_per_s", _num)),
    Column("errors", pl.Int64, _in_block("error_count", _int)),
    Column("error_kinds", pl.Utf8, _error_kinds),
    Column("retried_away", pl.Int64, _in_block("retried_away", _int)),
    Column("ttft_p50_s", pl.Float64, _percentile("ttft_s", "p50")),
    Column("ttft_p90_s", pl.Float64, _percentile("ttft_s", "p90")),
    Column("tpot_p50_s", pl.Float64, _percentile("tpot_s", "p50")),
    Column("tpot_p90_s", pl.Float64, _percentile("tpot_s", "p90")),
)  # fmt: skip


def fleet_frames(records: Sequence[RecordedRun]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The fleet runs among `records` (one row each) and their endpoints (one row each)."""
    fleets = [_Fleet(r, _d(r.summary.fleet)) for r in records if r.summary.kind == FLEET_KIND]
    endpoints = [_Endpoint(f.rec, _d(e)) for f in fleets for e in f.block.get("endpoints") or ()]
    return (
        frame_of(FLEET_COLUMNS, rows_of(FLEET_COLUMNS, fleets)),
        frame_of(ENDPOINT_COLUMNS, rows_of(ENDPOINT_COLUMNS, endpoints)),
    )
