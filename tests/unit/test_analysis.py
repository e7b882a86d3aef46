"""engine.analysis.frames: the frames hold exactly what the recorded summaries say, derived
figures are engine.figures' over those values, and what a summary lacks stays null."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.analysis.frames import BASELINE_FROM_SETTINGS, BASELINE_SLOWEST, load_results
from tests.support.results_builder import (
    DATASET,
    RATIO,
    SAMPLES,
    SLOW_DURATION,
    SLOW_METRIC,
    ResultsBuilder,
    Standard,
    standard_results,
)


@pytest.fixture
def standard(tmp_path: Path) -> tuple[Path, Standard]:
    root = tmp_path / "results"
    return root, standard_results(root)


def _row(frame, **where):  # type: ignore[no-untyped-def]
    rows = [r for r in frame.to_dicts() if all(r[k] == v for k, v in where.items())]
    assert len(rows) == 1, (where, rows)
    return rows[0]


def test_one_row_per_run_with_the_summary_values(standard: tuple[Path, Standard]) -> None:
    root, st = standard
    res = load_results(root)
    assert res.runs.height == len(st.all_runs()) == 11
    for s in st.all_runs():
        r = _row(res.runs, run_dir=s.run_dir)
        assert r["node"] == s.node
        assert r["samples_requested"] == s.samples_requested
        assert r["samples_processed"] == s.samples_processed
        assert r["duration_s"] == s.wall.duration_s
        assert r["metric_value"] == (s.loadgen.metric.value if s.loadgen.metric else None)
        assert r["wall_throughput"] == s.wall_throughput
        assert r["validity"] == s.loadgen.validity
        assert r["state"] == s.exit.state
        assert r["path"] == str(root / s.run_dir)
    seed = _row(res.runs, run_dir=st.seed.run_dir)
    assert seed["samples_mismatch"] is True
    assert seed["wall_throughput"] == pytest.approx(100 / 722.6)
    assert seed["token_metric_value"] == 20.49
    assert seed["validity_reasons"] == list(st.seed.loadgen.validity_reasons)
    assert seed["ok"] is True  # LoadGen completed; the harness's exit code came after
    assert _row(res.runs, run_dir=st.slow[40].run_dir)["samples_mismatch"] is False
    failed = _row(res.runs, run_dir=st.failed.run_dir)
    assert failed["ok"] is False
    assert failed["samples_mismatch"] is None and failed["wall_throughput"] is None
    telemetry = _row(res.runs, run_dir=st.fast[160].run_dir)
    assert telemetry["util_mean"] == pytest.approx((88 + 92 + 97 + 99) / 4)
    assert telemetry["util_max"] == 99.0
    assert telemetry["telemetry_file"] is True
    no_tel = _row(res.runs, run_dir=st.fast[40].run_dir)
    assert no_tel["util_mean"] is None and no_tel["telemetry_state"] == "no-driver"


def test_two_nodes_2_1x_apart_relative_to_the_slowest(standard: tuple[Path, Standard]) -> None:
    root, st = standard
    res = load_results(root)
    slow = _row(res.nodes, node="slow", benchmark="demo-llm")
    fast = _row(res.nodes, node="fast", benchmark="demo-llm")
    # Group shards and the failed run are not single-run measurements.
    assert slow["runs"] == 3 and fast["runs"] == 3
    assert sorted(fast["run_dirs"]) == sorted(st.fast[n].run_dir for n in SAMPLES)
    total = sum(SLOW_DURATION.values())
    assert slow["samples_processed_sum"] == sum(SAMPLES)
    assert slow["duration_s_sum"] == pytest.approx(total)
    assert slow["wall_throughput"] == pytest.approx(sum(SAMPLES) / total)
    assert fast["wall_throughput"] == pytest.approx(sum(SAMPLES) / (total / RATIO))
    assert slow["mean_metric"] == pytest.approx(sum(SLOW_METRIC.values()) / 3)
    assert slow["best_metric"] == max(SLOW_METRIC.values())
    assert fast["best_metric"] == pytest.approx(max(SLOW_METRIC.values()) * RATIO)
    assert slow["baseline_node"] == fast["baseline_node"] == "slow"
    assert fast["baseline_source"] == BASELINE_SLOWEST
    assert fast["relative_wall"] == pytest.approx(RATIO)
    assert fast["relative_loadgen"] == pytest.approx(RATIO)
    assert slow["relative_wall"] == pytest.approx(1.0)


def test_projections_use_each_throughput_and_say_which(standard: tuple[Path, Standard]) -> None:
    root, st = standard
    res = load_results(root)
    for r in res.nodes.to_dicts():
        if r["wall_throughput"] is not None:
            assert r["projection_h_wall"] == pytest.approx(
                r["dataset_size"] / r["wall_throughput"] / 3600
            )
        if r["metric_unit"] == "samples/s":
            assert r["projection_h_loadgen"] == pytest.approx(
                r["dataset_size"] / r["mean_metric"] / 3600
            )
    seed = _row(res.nodes, node="slow", benchmark="llama3.1-8b")
    # The seed report said 48.2 h from 0.277 samples/s; the recorded run says otherwise.
    assert seed["projection_h_wall"] == pytest.approx(DATASET / (100 / 722.6) / 3600)
    assert seed["projection_h_loadgen"] == pytest.approx(DATASET / 0.16 / 3600)
    assert seed["invalid_runs"] == [st.seed.run_dir]


def test_a_missing_metric_stays_missing(standard: tuple[Path, Standard]) -> None:
    root, st = standard
    mid = _row(load_results(root).nodes, node="mid")
    assert mid["mean_metric"] is None and mid["best_metric"] is None
    assert mid["metric_unit"] is None and mid["metric_runs"] == 0
    assert mid["projection_h_loadgen"] is None and mid["relative_loadgen"] is None
    assert mid["wall_throughput"] == pytest.approx(60 / 4.0)  # the wall figures are recorded


def test_a_summary_without_a_figure_gets_none_made_up(tmp_path: Path) -> None:
    b = ResultsBuilder(tmp_path)
    s = b.run("solo", 100, duration=10.0, wall=None, dataset_size=None)
    res = load_results(tmp_path)
    run = _row(res.runs, run_dir=s.run_dir)
    # Processed samples and duration are there, but the summary has no wall throughput.
    assert run["wall_throughput"] is None
    node = _row(res.nodes, node="solo")
    assert node["dataset_size"] is None
    assert node["projection_h_wall"] is None and node["projection_h_loadgen"] is None


def test_group_figures_come_from_group_summary_json(standard: tuple[Path, Standard]) -> None:
    root, st = standard
    res = load_results(root)
    g = _row(res.groups, name="pair-equal")
    j = st.group
    for col in ("makespan_s", "combined_throughput", "speedup", "scaling_efficiency"):
        assert g[col] == getattr(j, col)
    assert g["split"] == "equal" and g["nodes"] == ["slow", "fast"]
    assert g["combined_throughput"] == pytest.approx(320 / 16.0)
    singles = list(j.single_run_throughputs.values())
    assert g["ideal_throughput"] == pytest.approx(sum(singles))
    assert g["scaling_efficiency"] == pytest.approx(20.0 / sum(singles))
    assert g["projection_h_combined"] == pytest.approx(DATASET / 20.0 / 3600)
    assert g["sum_loadgen_metric"] == pytest.approx(12.8 + 26.9)
    shards = res.shards.filter(res.shards["group_dir"] == g["group_dir"]).to_dicts()
    assert [s["samples_requested"] for s in shards] == [160, 160]  # the equal split
    assert {s["run_dir"] for s in shards} == {s.run_dir for s in st.shards}


def test_a_group_with_missing_figures_keeps_them_null(standard: tuple[Path, Standard]) -> None:
    root, st = standard
    path = next(root.glob("group_*/group_summary.json"))
    data = json.loads(path.read_text())
    data["scaling_efficiency"] = None
    data["single_run_throughputs"]["fast"] = None
    path.write_text(json.dumps(data))
    g = _row(load_results(root).groups, name="pair-equal")
    assert g["scaling_efficiency"] is None and g["ideal_throughput"] is None
    assert g["combined_throughput"] == 20.0


def test_sweeps_per_node_and_sample_count(standard: tuple[Path, Standard]) -> None:
    root, st = standard
    sweeps = load_results(root).sweeps
    fast = sweeps.filter((sweeps["node"] == "fast") & (sweeps["benchmark"] == "demo-llm"))
    assert fast.get_column("samples_requested").to_list() == list(SAMPLES)
    for r in fast.to_dicts():
        n = r["samples_requested"]
        assert r["run_dirs"] == [st.fast[n].run_dir]
        assert r["wall_throughput"] == pytest.approx(n / (SLOW_DURATION[n] / RATIO))
        assert r["mean_metric"] == pytest.approx(SLOW_METRIC[n] * RATIO)


def test_baseline_from_the_caller_or_the_config_snapshot(standard: tuple[Path, Standard]) -> None:
    root, st = standard
    res = load_results(root, baseline_node="fast")
    slow = _row(res.nodes, node="slow", benchmark="demo-llm")
    assert slow["baseline_node"] == "fast" and slow["baseline_source"] == BASELINE_FROM_SETTINGS
    assert slow["relative_wall"] == pytest.approx(1 / RATIO)
    # The seed's family has no "fast" run: the slowest node there, and the report says why.
    seed = _row(res.nodes, node="slow", benchmark="llama3.1-8b")
    assert seed["baseline_node"] == "slow" and "has no measured run" in seed["baseline_source"]
    newest = max(st.all_runs(), key=lambda s: s.wall.start_unix or 0.0)
    (root / newest.run_dir / "config.snapshot.toml").write_text(
        '[settings]\nbaseline_node = "fast"\n'
    )
    res = load_results(root)
    assert res.baseline_setting == "fast"
    assert _row(res.nodes, node="slow", benchmark="demo-llm")["relative_wall"] == pytest.approx(
        1 / RATIO
    )


def test_an_empty_or_absent_results_dir_gives_empty_frames(tmp_path: Path) -> None:
    for root in (tmp_path, tmp_path / "absent"):
        res = load_results(root)
        assert res.runs.height == res.nodes.height == res.groups.height == 0
        assert "wall_throughput" in res.runs.columns and "projection_h_wall" in res.nodes.columns
        assert not res.simulated


def test_unreadable_and_foreign_summaries_are_skipped(standard: tuple[Path, Standard]) -> None:
    root, st = standard
    (root / "junk_1").mkdir()
    (root / "junk_1" / "orchestrator_summary.json").write_text("{not json")
    (root / "junk_2").mkdir()
    (root / "junk_2" / "orchestrator_summary.json").write_text('{"schema": "other"}')
    assert load_results(root).runs.height == 11
