"""engine.analysis.compare: two runs side by side and a stage's nodes against the baseline,
both throughputs named; every difference and ratio is engine.figures' over the recorded
values (here the committed 0.1.0 results and results_builder runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import figures
from engine.analysis.compare import compare_runs, compare_stage, find_run
from engine.errors import UsageError
from tests.support.paths import DATA
from tests.support.results_builder import SAMPLES, ResultsBuilder, standard_results

V010 = DATA / "results-0.1.0"


def _summary(name: str) -> dict:
    return json.loads((V010 / name / "orchestrator_summary.json").read_text())


def test_a_group_stage_compares_its_shards_against_the_baseline_node() -> None:
    c = compare_stage([V010], "pair")
    assert c.shards and c.plan_id is None  # 0.1.0 wrote no plan lines
    by_node = {n["node"]: n for n in c.nodes}
    slow, fast = _summary("slow_20261202_000152"), _summary("fast_20261202_000152")
    assert by_node["fast"]["baseline_node"] == "slow"  # settings.baseline_node in the snapshot
    lg_slow, lg_fast = slow["loadgen"]["metric"]["value"], fast["loadgen"]["metric"]["value"]
    assert by_node["fast"]["relative_loadgen"] == figures.relative(lg_fast, lg_slow)
    assert by_node["fast"]["loadgen_vs_baseline"] == figures.difference(lg_fast, lg_slow)
    wall = {
        n: figures.wall_throughput(s["samples_processed"], s["wall"]["duration_s"])
        for n, s in (("slow", slow), ("fast", fast))
    }
    assert by_node["fast"]["relative_wall"] == pytest.approx(wall["fast"] / wall["slow"])
    assert by_node["slow"]["relative_wall"] == 1.0


def test_two_runs_in_other_units_have_no_difference_and_say_why(tmp_path: Path) -> None:
    b = ResultsBuilder(tmp_path)
    a = b.run("n1", 40, duration=4.0, metric=("latency", 1e6, "ns"), scenario="SingleStream")
    c = b.run("n1", 40, duration=2.0, metric=("Samples per second", 20.0, "samples/s"))
    res = compare_runs(find_run(str(a.run_id), [tmp_path]), find_run(str(c.run_dir), [tmp_path]))
    assert res.loadgen.difference is None and "units differ" in res.loadgen.note
    assert res.wall.difference == figures.difference(20.0, 10.0) == 10.0
    assert res.wall.ratio == 2.0 and res.differs == ("scenario",)


def test_an_unknown_or_ambiguous_run_is_a_usage_error(tmp_path: Path) -> None:
    b = ResultsBuilder(tmp_path)
    b.run("n1", 40, duration=4.0, run_id="same")
    b.run("n1", 40, duration=4.0, run_id="same")
    with pytest.raises(UsageError, match="2 runs have that id"):
        find_run("same", [tmp_path])
    with pytest.raises(UsageError, match="no run dir or run id"):
        find_run("other", [tmp_path])


def test_a_sweep_stage_compares_each_point_with_the_baselines_point(tmp_path: Path) -> None:
    st = standard_results(tmp_path)
    c = compare_stage([tmp_path], "sweep")
    points = {(p["node"], p["samples_requested"]): p for p in c.points}
    for n in SAMPLES:
        fast, slow = st.fast[n], st.slow[n]
        p = points[("fast", n)]
        assert p["baseline_node"] == "slow"
        assert p["relative_wall"] == figures.relative(fast.wall_throughput, slow.wall_throughput)
        assert p["relative_loadgen"] == figures.relative(
            fast.loadgen.metric.value,  # type: ignore[union-attr]
            slow.loadgen.metric.value,  # type: ignore[union-attr]
        )
    assert points[("mid", 60)]["relative_wall"] is None  # slow ran no 60-sample point
