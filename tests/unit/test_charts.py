"""engine.analysis.charts: valid PNGs whose every bar, point and line is a value from the
frames (read back from the matplotlib figures), redrawn when a recorded value changes,
identical when
nothing changed, and a plain statement where there is nothing to draw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from engine.analysis.charts import (
    COMPARISON,
    GPU_UTILIZATION,
    PERFORMANCE,
    SCALING,
    ChartData,
    comparison_figure,
    gpu_figure,
    performance_figure,
    scaling_figure,
    write_charts,
)
from engine.analysis.frames import load_results
from tests.support.results_builder import ResultsBuilder, Standard, standard_results

SIZES = {PERFORMANCE: (1200, 900), SCALING: (1200, 500), COMPARISON: (1200, 500)}
SIZES[GPU_UTILIZATION] = (1200, 500)


@pytest.fixture
def standard(tmp_path: Path) -> tuple[Path, Standard]:
    root = tmp_path / "results"
    return root, standard_results(root)


def _heights(ax) -> list[float]:  # type: ignore[no-untyped-def]
    return sorted(p.get_height() for p in ax.patches)


def _known(*columns: list) -> list[float]:  # type: ignore[type-arg]
    return sorted(v for col in columns for v in col if v is not None)


def _texts(fig) -> str:  # type: ignore[no-untyped-def]
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    texts += [ax.get_title() for ax in fig.axes]
    return " | ".join([*texts, fig._suptitle.get_text() if fig._suptitle else ""])


def test_four_valid_pngs_of_fixed_size(standard: tuple[Path, Standard], tmp_path: Path) -> None:
    root, _ = standard
    paths = write_charts(load_results(root), tmp_path / "charts")
    assert [p.name for p in paths] == [PERFORMANCE, SCALING, COMPARISON, GPU_UTILIZATION]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(p) as img:
            img.verify()
        with Image.open(p) as img:
            assert img.size == SIZES[p.name]
    assert not list((tmp_path / "charts").glob(".*.tmp"))


def test_performance_panels_plot_the_frame_values(standard: tuple[Path, Standard]) -> None:
    root, _ = standard
    res = load_results(root)
    nodes, runs = res.nodes, res.runs
    throughput, duration, samples, projection = performance_figure(res).axes[:4]
    assert _heights(throughput) == pytest.approx(
        _known(nodes["wall_throughput"].to_list(), nodes["mean_metric"].to_list())
    )
    assert "wall throughput" in throughput.get_legend().get_texts()[0].get_text()
    assert "LoadGen metric" in throughput.get_legend().get_texts()[1].get_text()
    assert _heights(projection) == pytest.approx(
        _known(nodes["projection_h_wall"].to_list(), nodes["projection_h_loadgen"].to_list())
    )
    # "mid" has no LoadGen metric: its slot says so instead of a bar of 0.
    assert "missing" in [t.get_text() for t in throughput.texts]
    plotted = sorted(tuple(xy) for c in samples.collections for xy in c.get_offsets().tolist())
    recorded = sorted(
        (float(r["samples_requested"]), float(r["samples_processed"]))
        for r in runs.to_dicts()
        if r["samples_processed"] is not None
    )
    assert plotted == recorded  # the seed's (200, 100) is there, below the diagonal
    assert (200.0, 100.0) in plotted
    durations = sorted(xy[1] for c in duration.collections for xy in c.get_offsets().tolist())
    assert durations == pytest.approx(sorted(runs["duration_s"].to_list()))


def test_scaling_plots_group_figures(standard: tuple[Path, Standard]) -> None:
    root, st = standard
    res = load_results(root)
    left, right = scaling_figure(res).axes
    g = st.group
    ideal = sum(v or 0.0 for v in g.single_run_throughputs.values())
    assert _heights(left) == pytest.approx(sorted([g.combined_throughput, ideal]))
    assert _heights(right) == pytest.approx(sorted([g.scaling_efficiency, g.speedup]))


def test_comparison_lines_are_the_sweeps(standard: tuple[Path, Standard]) -> None:
    root, _ = standard
    res = load_results(root)
    wall_ax, metric_ax = comparison_figure(res).axes
    sweeps = res.sweeps.to_dicts()
    walls = sorted(y for line in wall_ax.lines for y in line.get_ydata())
    assert walls == pytest.approx(sorted(r["wall_throughput"] for r in sweeps))
    metrics = sorted(y for line in metric_ax.lines for y in line.get_ydata())
    assert metrics == pytest.approx(_known([r["mean_metric"] for r in sweeps]))


def test_gpu_chart_from_telemetry_or_says_there_is_none(standard: tuple[Path, Standard]) -> None:
    root, st = standard
    res = load_results(root)
    fig = gpu_figure(res)
    (ax,) = fig.axes
    (line,) = ax.lines  # only fast's 160-sample run recorded telemetry
    assert list(line.get_ydata()) == [88.0, 92.0, 97.0, 99.0]
    assert list(line.get_xdata()) == [0.0, 1.0, 2.0, 3.0]
    assert st.fast[160].run_dir in line.get_label()
    (root / st.fast[160].run_dir / "telemetry.csv").unlink()
    fig = gpu_figure(load_results(root))
    assert not fig.axes[0].lines
    assert "no GPU telemetry recorded (runs say: no-driver, ok)" in _texts(fig)


def test_telemetry_is_read_only_where_the_summary_counts_samples(
    standard: tuple[Path, Standard],
) -> None:
    root, st = standard
    data = ChartData.of(load_results(root))
    assert [d.name for _, d in data.telemetry_runs] == [st.fast[160].run_dir]
    # A summary that does not count them (0.1.0 wrote no count) has its file read.
    path = root / st.slow[160].run_dir / "orchestrator_summary.json"
    recorded = json.loads(path.read_text())
    del recorded["telemetry"]["samples"]
    path.write_text(json.dumps(recorded))
    data = ChartData.of(load_results(root))
    assert sorted(d.name for _, d in data.telemetry_runs) == sorted(
        [st.fast[160].run_dir, st.slow[160].run_dir]
    )


def test_empty_results_draw_statements_not_charts(tmp_path: Path) -> None:
    res = load_results(tmp_path)
    for build in (performance_figure, scaling_figure, comparison_figure, gpu_figure):
        fig = build(res)
        assert not any(ax.patches or ax.lines or ax.collections for ax in fig.axes)
    assert "no parallel group recorded" in _texts(scaling_figure(res))
    assert "no GPU telemetry recorded" in _texts(gpu_figure(res))
    assert len(write_charts(res, tmp_path / "charts")) == 4


def test_titles_say_when_node_speeds_are_simulated(tmp_path: Path) -> None:
    b = ResultsBuilder(tmp_path / "real")
    b.run("a100", 100, duration=10.0, simulated=False)
    real = load_results(tmp_path / "real")
    assert "simulated" not in _texts(performance_figure(real))
    b = ResultsBuilder(tmp_path / "demo")
    b.run("slow", 100, duration=10.0, simulated=True)
    assert "simulated node speeds" in _texts(performance_figure(load_results(tmp_path / "demo")))


def test_png_bytes_follow_the_recorded_values(
    standard: tuple[Path, Standard], tmp_path: Path
) -> None:
    root, st = standard
    first = [p.read_bytes() for p in write_charts(load_results(root), tmp_path / "a")]
    again = [p.read_bytes() for p in write_charts(load_results(root), tmp_path / "b")]
    assert first == again  # nothing changed, nothing redrawn differently
    path = root / st.slow[160].run_dir / "orchestrator_summary.json"
    data = json.loads(path.read_text())
    data["wall_throughput"]["value"] *= 3
    data["wall"]["duration_s"] /= 3
    path.write_text(json.dumps(data))
    changed = [p.read_bytes() for p in write_charts(load_results(root), tmp_path / "c")]
    assert changed[0] != first[0]  # performance_analysis
    assert changed[2] != first[2]  # throughput_comparison
    assert changed[1] == first[1]  # scaling reads group_summary.json, which did not change
