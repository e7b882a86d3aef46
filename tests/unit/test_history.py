"""engine.analysis.history: every recorded run across results dirs, and the regression check:
a run's figure (LoadGen metric, else wall throughput) against the median of its node's earlier
runs of the same benchmark, scenario and mode. Results are written by the real ResultsStore
and schema (tests/support/results_builder.py) or are the committed 0.1.0 results."""

from __future__ import annotations

import json
import statistics
from dataclasses import replace
from pathlib import Path

import pytest

from engine.analysis.columns import run_row
from engine.analysis.history import load_history
from engine.analysis.regression import DEFAULT_MARGIN, MARGIN_DEFAULT_SOURCE, RunHistory, assess
from engine.checks.compliance import ComplianceRecord
from engine.checks.qps_search import SEARCH_FILE, QpsSearchResult, QpsStep
from engine.checks.regression import LOADGEN_METRIC, WALL_THROUGHPUT
from engine.model import RunState
from engine.results.store import ResultsStore, write_run_summary
from tests.support.paths import DATA
from tests.support.results_builder import ResultsBuilder

V010 = DATA / "results-0.1.0"
DAY = 86_400.0


def _metric(v: float, unit: str = "samples/s") -> tuple[str, float, str]:
    return ("Samples per second" if unit == "samples/s" else "latency", v, unit)


def _rows(history) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {r["run_dir"]: r for r in history.runs.to_dicts()}


def test_a_run_more_than_the_margin_below_the_earlier_median_is_flagged(tmp_path: Path) -> None:
    b = ResultsBuilder(tmp_path / "r")
    earlier = [10.0, 10.4, 9.8]
    runs = [
        b.run("n1", 40, duration=4.0, metric=_metric(v), start=1e9 + i * DAY)
        for i, v in enumerate(earlier)
    ]
    low = b.run("n1", 40, duration=4.0, metric=_metric(9.0), start=1e9 + 3 * DAY)
    near = b.run("n1", 40, duration=4.0, metric=_metric(9.6), start=1e9 + 4 * DAY)
    h = load_history([tmp_path / "r"])
    rows = _rows(h)
    median = statistics.median(earlier)
    r = rows[low.run_dir]
    assert r["basis"] == LOADGEN_METRIC and r["value"] == 9.0
    assert r["previous_median"] == median and r["previous_runs"] == 3
    assert r["change"] == pytest.approx(9.0 / median - 1)
    assert r["regression"] is True
    # 9.6 against the median of 10, 10.4, 9.8 and 9.0: 4 % below, within 5 %.
    r = rows[near.run_dir]
    assert r["previous_median"] == statistics.median([*earlier, 9.0])
    assert r["regression"] is False
    assert (
        rows[runs[0].run_dir]["previous_runs"] == 0 and rows[runs[0].run_dir]["regression"] is None
    )
    assert h.margin == DEFAULT_MARGIN == 0.05 and h.margin_source == MARGIN_DEFAULT_SOURCE
    assert h.flagged["run_dir"].to_list() == [low.run_dir]
    line = h.regression_of(tmp_path / "r" / low.run_dir).line("n1")  # type: ignore[union-attr]
    assert line.startswith("REGRESSION: LoadGen metric 9 samples/s is 10% below n1's")
    # A wider margin clears it.
    assert load_history([tmp_path / "r"], 0.15).flagged.height == 0


def test_a_latency_regresses_upwards_and_wall_throughput_stands_in_for_a_missing_metric(
    tmp_path: Path,
) -> None:
    b = ResultsBuilder(tmp_path / "r")
    for i, ns in enumerate([1e6, 1.1e6]):
        b.run(
            "n1", 40, duration=4.0, metric=_metric(ns, "ns"), scenario="SingleStream", start=1e9 + i
        )
    slower = b.run(
        "n1", 40, duration=4.0, metric=_metric(1.3e6, "ns"), scenario="SingleStream", start=1e9 + 5
    )
    # No LoadGen metric: the wall throughput (40/4 = 10, then 40/5 = 8), same sample count only.
    b.run("n2", 40, duration=4.0, metric=None, start=1e9)
    b.run("n2", 80, duration=20.0, metric=None, start=1e9 + 1)  # 4/s, another sample count
    drop = b.run("n2", 40, duration=5.0, metric=None, start=1e9 + 2)
    rows = _rows(load_history([tmp_path / "r"]))
    r = rows[slower.run_dir]
    assert r["change"] == pytest.approx(1.3e6 / statistics.median([1e6, 1.1e6]) - 1)
    assert r["regression"] is True
    r = rows[drop.run_dir]
    assert r["basis"] == WALL_THROUGHPUT and r["unit"] == "samples/s"
    assert r["previous_runs"] == 1 and r["previous_median"] == 10.0 and r["value"] == 8.0
    assert r["regression"] is True


def test_failed_runs_shards_and_other_families_are_kept_apart(tmp_path: Path) -> None:
    b = ResultsBuilder(tmp_path / "r")
    b.run("n1", 40, duration=4.0, metric=_metric(10.0), start=1e9)
    failed = b.run(
        "n1", 40, duration=1.0, metric=None, processed=None, state=RunState.FAILED, start=1e9 + 1
    )
    shard = b.run("n1", 40, duration=4.0, metric=_metric(5.0), group_id="g", start=1e9 + 2)
    other = b.run("n1", 40, duration=4.0, metric=_metric(5.0), scenario="Server", start=1e9 + 3)
    rows = _rows(load_history([tmp_path / "r"]))
    assert rows[failed.run_dir]["previous_runs"] is None  # not judged
    assert rows[failed.run_dir]["regression"] is None
    assert rows[shard.run_dir]["previous_runs"] == 0  # shards: a family of their own
    assert rows[other.run_dir]["previous_runs"] == 0


def test_compliance_runs_and_qps_search_steps_are_neither_judged_nor_counted(
    tmp_path: Path,
) -> None:
    root = tmp_path / "r"
    b = ResultsBuilder(root)
    b.run("n1", 40, duration=4.0, metric=_metric(10.0), start=1e9)
    audited = b.run("n1", 40, duration=4.0, metric=_metric(2.0), start=1e9 + 1)
    record = ComplianceRecord(test="TEST04", source="the model's compliance table")
    write_run_summary(root / str(audited.run_dir), replace(audited, compliance=record))
    step = b.run("n1", 40, duration=4.0, metric=_metric(1.0), start=1e9 + 2)
    steps = (QpsStep(1, "short", 1.0, str(step.run_id), step.run_dir),)
    search = QpsSearchResult("s", "n1", "demo-llm", 1.0, 20.0, 0.05, 0.1, steps)
    (root / "qps_s_1").mkdir()
    (root / "qps_s_1" / SEARCH_FILE).write_text(json.dumps(search.to_json()))
    after = b.run("n1", 40, duration=4.0, metric=_metric(9.9), start=1e9 + 3)
    rows = _rows(load_history([root]))
    assert rows[audited.run_dir]["not_judged"] == "a compliance test's run (TEST04)"
    assert rows[step.run_dir]["not_judged"].startswith("a QPS search step")
    assert rows[audited.run_dir]["regression"] is None and rows[step.run_dir]["regression"] is None
    # Neither counts as an earlier run: the median is the one ordinary run's.
    assert rows[after.run_dir]["previous_runs"] == 1
    assert rows[after.run_dir]["previous_median"] == 10.0
    # The orchestrator's history, read from the dir, leaves them out too.
    recs = {r.run_dir.name: r for r in ResultsStore(root).runs()}
    v = RunHistory.of_results_dir(root).judge_run(recs[str(after.run_dir)])
    assert v is not None and v.previous_runs == 1


def test_history_spans_results_dirs_and_days_counting_a_dir_once(tmp_path: Path) -> None:
    day1, day2 = ResultsBuilder(tmp_path / "monday"), ResultsBuilder(tmp_path / "tuesday")
    day1.run("n1", 40, duration=4.0, metric=_metric(20.0), start=1e9)
    day1.run("n1", 40, duration=4.0, metric=_metric(21.0), start=1e9 + 60)
    late = day2.run("n1", 40, duration=4.0, metric=_metric(15.0), start=1e9 + DAY)
    h = load_history([tmp_path / "monday", tmp_path / "tuesday", tmp_path / "monday"])
    assert h.runs.height == 3
    r = _rows(h)[late.run_dir]
    assert r["previous_median"] == statistics.median([20.0, 21.0]) and r["regression"] is True
    assert r["results_dir"] == str(tmp_path / "tuesday")
    assert r["start"] == "2001-09-10 01:46:40"  # 1e9 + a day, UTC


def test_the_orchestrators_incremental_history_says_what_the_history_says(tmp_path: Path) -> None:
    b = ResultsBuilder(tmp_path / "r")
    for i, v in enumerate([10.0, 11.0, 8.0, 10.5, 9.0]):
        b.run("n1", 40, duration=4.0, metric=_metric(v), start=1e9 + i)
    recs = sorted(ResultsStore(tmp_path / "r").runs(), key=lambda r: r.summary.wall.start_unix)
    incremental = RunHistory(0.05)
    verdicts = [incremental.judge_run(rec) for rec in recs]
    assert verdicts == assess([run_row(rec) for rec in recs], 0.05)
    h = load_history([tmp_path / "r"], 0.05)
    assert [v.flagged for v in verdicts if v] == [h.regression_of(r.run_dir).flagged for r in recs]  # type: ignore[union-attr]
    # A history read from the dir judges a new run as the incremental one did.
    new = b.run("n1", 40, duration=4.0, metric=_metric(7.0), start=1e9 + 10)
    rec = next(r for r in ResultsStore(tmp_path / "r").runs() if r.run_dir.name == new.run_dir)
    before = RunHistory.of_results_dir(tmp_path / "r", 0.05)
    v = before.judge_run(rec)
    assert v is not None and v.flagged
    assert v.previous_median == statistics.median([10.0, 11.0, 8.0, 10.5, 9.0])


def test_the_margin_comes_from_the_newest_snapshot_else_the_default(tmp_path: Path) -> None:
    b = ResultsBuilder(tmp_path / "r")
    b.run("n1", 40, duration=4.0, metric=_metric(10.0), start=1e9)
    s = b.run("n1", 40, duration=4.0, metric=_metric(8.5), start=1e9 + 1)
    snapshot = tmp_path / "r" / str(s.run_dir) / "config.snapshot.toml"
    snapshot.write_text("[settings]\nregression_margin = 0.2\n")
    h = load_history([tmp_path / "r"])
    assert h.margin == 0.2 and h.margin_source == str(snapshot)
    assert h.flagged.height == 0  # 15 % below, within 20 %
    assert load_history([tmp_path / "r"], 0.1).flagged.height == 1


def test_the_0_1_0_results_are_judged_from_their_own_summaries(tmp_path: Path) -> None:
    h = load_history([V010])
    rows = _rows(h)
    assert len(rows) == len(list(ResultsStore(V010).runs())) == 8
    # No two of its runs share node, benchmark, scenario, mode and sample count.
    assert {r["previous_runs"] for r in rows.values()} == {0, None}
    assert rows["slow_20261202_000153"]["state"] == "failed"
    assert rows["slow_20261202_000153"]["not_judged"] == "its LoadGen results do not stand"
    assert h.flagged.height == 0 and h.plans == 0
    # A later day's run of fast's 16-sample sweep point is judged against 0.1.0's.
    recorded = json.loads((V010 / "fast_20261202_000150" / "orchestrator_summary.json").read_text())
    later = ResultsBuilder(tmp_path / "later").run(
        "fast", 16, duration=1.0, metric=_metric(70.0), start=recorded["wall"]["start_unix"] + DAY
    )
    r = _rows(load_history([V010, tmp_path / "later"]))[later.run_dir]
    first = recorded["loadgen"]["metric"]["value"]
    assert (r["basis"], r["previous_median"], r["previous_runs"]) == (LOADGEN_METRIC, first, 1)
    assert r["change"] == pytest.approx(70.0 / first - 1) and r["regression"] is True
