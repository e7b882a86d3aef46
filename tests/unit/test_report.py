"""engine.analysis.report.rebuild: the numbers in the markdown are the recorded ones (parsed
back out and compared with the JSON), projections are dataset size / named throughput / 3600,
INVALID is loud and never
called valid or compliant, a missing figure is "—" with its reason, and rebuilding is
idempotent. One story runs the seed pipeline's own JW2 log through the real parser and summary
builder: the report must say what the seed report did not."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from engine.analysis.report.rebuild import rebuild_reports, write_pipeline_report, write_run_report
from engine.errors import MlconsoleError
from engine.results.schema import RunSummary
from engine.results.store import write_run_summary
from tests.support.paths import REFERENCE
from tests.support.results_builder import DATASET, RATIO, ResultsBuilder, Standard, standard_results

SEED_LOG = REFERENCE / "seed-logs"
NUMBER = r"(-?[\d,]+(?:\.\d+)?)"


@pytest.fixture
def standard(tmp_path: Path) -> tuple[Path, Standard]:
    root = tmp_path / "results"
    return root, standard_results(root)


def _f(text: str) -> float:
    return float(text.replace(",", ""))


def _cell(md: str, label: str) -> str:
    """The value cell of the row of a two-column table whose first cell starts with `label`."""
    for line in md.splitlines():
        if line.startswith(f"| {label}"):
            return line.split(" | ", 1)[1].rstrip(" |")
    raise AssertionError(f"no row {label!r} in report")


def _close(shown: str, value: float, digits: int = 4) -> None:
    """`shown` is `value` to `digits` significant digits."""
    assert _f(shown) == pytest.approx(value, rel=0.5 * 10 ** (1 - digits))


def _run_report(root: Path, s: RunSummary) -> str:
    path = write_run_report(root / s.run_dir)
    assert path == root / s.run_dir / f"{s.node}_comprehensive_report.md"
    return path.read_text()


def test_run_report_numbers_are_the_summary_numbers(standard: tuple[Path, Standard]) -> None:
    root, st = standard
    for s in [*st.slow.values(), *st.fast.values(), *st.shards]:
        md = _run_report(root, s)
        assert f"Run dir: `{s.run_dir}`, this report's folder" in md
        metric = re.fullmatch(NUMBER + " samples/s", _cell(md, "LoadGen metric"))
        assert metric and _f(metric[1]) == pytest.approx(s.loadgen.metric.value, rel=1e-14)
        wall = re.match(
            NUMBER + r" samples/s = " + NUMBER + " samples processed / " + NUMBER + " s",
            _cell(md, "Wall throughput (includes model load"),
        )
        assert wall, md
        _close(wall[1], s.wall_throughput)
        assert _f(wall[2]) == s.samples_processed
        _close(wall[3], s.wall.duration_s)
        samples = _cell(md, "Samples")
        assert samples == f"{s.samples_requested} requested, {s.samples_processed} processed"
        _close(_cell(md, "Duration").split(" s")[0], s.wall.duration_s)
        assert _cell(md, "Validity") == "VALID"
        proj = re.fullmatch(
            NUMBER + r" samples / " + NUMBER + r" samples/s \(wall throughput\) / 3600 = "
            + NUMBER + r" h(?: \(\d+ min \d+ s\))?",
            _cell(md, "Full-dataset projection, wall throughput"),
        )  # fmt: skip
        assert proj and _f(proj[1]) == DATASET
        _close(proj[3], DATASET / s.wall_throughput / 3600)
        proj = re.search(r"= " + NUMBER + " h", _cell(md, "Full-dataset projection, LoadGen"))
        assert proj
        _close(proj[1], DATASET / s.loadgen.metric.value / 3600)
        assert "Simulated node speeds" in md


def test_invalid_run_is_loud_with_every_reason_never_compliant(
    standard: tuple[Path, Standard],
) -> None:
    root, st = standard
    md = _run_report(root, st.seed)
    assert _cell(md, "Validity") == "**INVALID**"
    assert "It is not a valid MLPerf result." in md
    for reason in st.seed.loadgen.validity_reasons:
        assert reason in md
    assert "compliant" not in md.lower()
    assert not re.search(r"\bVALID\b", md)
    assert "Simulated" not in md  # the seed's nodes were real


def test_mismatched_sample_counts_are_called_out(standard: tuple[Path, Standard]) -> None:
    root, st = standard
    md = _run_report(root, st.seed)
    assert _cell(md, "Samples") == "200 requested, 100 processed **(mismatch)**"
    assert "**Sample mismatch**: 200 samples were requested but LoadGen processed 100" in md
    wall = re.match(NUMBER + " samples/s = 100 samples processed / 722.6 s", _cell(md, "Wall"))
    assert wall
    _close(wall[1], 100 / 722.6)


def test_missing_figures_are_shown_missing_with_why(standard: tuple[Path, Standard]) -> None:
    root, st = standard
    md = _run_report(root, st.no_metric)
    assert _cell(md, "LoadGen metric") == "— (mlperf_log_summary.txt: no headline metric line)"
    assert _cell(md, "Full-dataset projection, LoadGen") == "— (no LoadGen metric recorded)"
    assert _cell(md, "Validity") == "— (mlperf_log_summary.txt: no headline metric line)"
    md = _run_report(root, st.failed)
    assert _cell(md, "LoadGen metric") == "— (run failed)"
    assert _cell(md, "Wall throughput") == "— (samples processed unknown)"
    assert _cell(md, "Samples") == "80 requested, — (processed count unknown)"
    assert "harness exited 1 before LoadGen wrote a summary" in _cell(md, "Exit")


def test_gpu_utilization_or_the_reason_there_is_none(standard: tuple[Path, Standard]) -> None:
    root, st = standard
    md = _run_report(root, st.fast[160])
    assert "| 0 | NVIDIA A30 | 4 | 94% |" in md  # mean of 88, 92, 97, 99
    assert "| 99% |" in md
    md = _run_report(root, st.fast[40])
    assert "no GPU telemetry: NVML Shared Library Not Found" in md


def test_a_run_dir_without_a_summary_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(MlconsoleError, match="cannot read the run summary") as err:
        write_run_report(tmp_path)
    assert "\n" not in str(err.value)


def test_seed_jw2_log_through_the_real_parser_and_summary_builder(tmp_path: Path) -> None:
    """The seed report sold 0.277 samples/s, 200 samples and compliance for this run. From its
    own log the report must say: LoadGen 0.16 samples/s, 100 of 200 samples, INVALID."""
    from engine.loadgen.parse import read_run_logs
    from engine.model import Benchmark, Mode, RunSpec, RunState, Scenario
    from engine.results.summary import build_run_summary

    run_dir = tmp_path / "results" / "jw2_20250725_104914"
    run_dir.mkdir(parents=True)
    shutil.copy(SEED_LOG / "jw2_performance_200samples.txt", run_dir / "mlperf_log_summary.txt")
    spec = RunSpec("jw2-200", "jw2", "llama3.1-8b", Scenario.SERVER, Mode.PERFORMANCE, 200)
    summary = build_run_summary(
        spec=spec,
        benchmark=Benchmark("llama3.1-8b", "true", DATASET, Scenario.SERVER),
        run_dir_name=run_dir.name,
        simulated=False,
        state=RunState.HARNESS_ERROR_AFTER_COMPLETE,
        exit_code=1,
        detail="AttributeError: ft_response_thread",
        start_unix=1753440554.0,
        end_unix=1753440554.0 + 722.6,
        logs=read_run_logs(run_dir),
        facts=None,
        telemetry=None,
        files=["mlperf_log_summary.txt"],
    )
    write_run_summary(run_dir, summary)
    md = write_run_report(run_dir).read_text()
    assert _cell(md, "LoadGen metric (Completed samples per second)") == "0.16 samples/s"
    assert _cell(md, "LoadGen token metric").startswith("20.49 tokens/s")
    assert _cell(md, "Samples") == "200 requested, 100 processed **(mismatch)**"
    assert _cell(md, "Validity") == "**INVALID**"
    assert "Minimum duration not met" in md and "compliant" not in md.lower()
    proj = re.search(r"= " + NUMBER + " h", _cell(md, "Full-dataset projection, wall"))
    assert proj
    _close(proj[1], DATASET / (100 / 722.6) / 3600)  # 26.83 h, not the seed's 48.2 h
    paths = write_pipeline_report(tmp_path / "results", tmp_path / "reports", charts=False)
    pipeline = paths[-1].read_text()
    assert "1 **INVALID**" in pipeline and "compliant" not in pipeline.lower()


# --- the pipeline report -----------------------------------------------------------------------


def _pipeline(root: Path, out: Path, **kw: Any) -> str:
    kw.setdefault("charts", False)  # the chart tests cover the PNGs; these read the markdown
    paths = write_pipeline_report(root, out, **kw)
    assert paths[-1] == out / "mlconsole_pipeline_report.md"
    return paths[-1].read_text()


def _section(md: str, title: str) -> str:
    part = md.split(f"\n## {title}", 1)[1]
    return part.split("\n## ", 1)[0]


def test_pipeline_report_has_the_seed_sections(standard: tuple[Path, Standard], tmp_path) -> None:
    root, _ = standard
    md = _pipeline(root, tmp_path / "reports", charts=True)
    for title in (
        "Executive summary",
        "Single-node results",
        "Distributed results",
        "Insights",
        "Full-dataset projections",
        "Artifacts",
    ):
        assert f"\n## {title}" in md
    assert "Simulated node speeds" in md
    for chart in ("performance_analysis", "scaling_analysis", "throughput_comparison"):
        assert f"![{chart}](charts/{chart}.png)" in md
        assert (tmp_path / "reports" / "charts" / f"{chart}.png").is_file()


def test_insights_are_computed_with_their_runs(standard: tuple[Path, Standard], tmp_path) -> None:
    root, st = standard
    insights = _section(_pipeline(root, tmp_path / "r"), "Insights")
    line = next(x for x in insights.splitlines() if x.startswith("- fast is "))
    m = re.match(r"- fast is ([\d.]+)x slow by wall throughput on demo-llm", line)
    assert m and float(m[1]) == pytest.approx(RATIO, abs=0.005)
    for n in (40, 80, 160):
        assert st.fast[n].run_dir in line and st.slow[n].run_dir in line
    assert f"and {RATIO:.2f}x by LoadGen metric" in line
    assert f"`{st.seed.run_dir}` is **INVALID**" in insights
    assert "LoadGen processed 100 of 200 requested samples" in insights
    assert f"`{st.failed.run_dir}` did not complete (failed)" in insights
    # The equal split: the fast shard idles while the slow one finishes.
    fast_shard = next(s for s in st.shards if s.node == "fast")
    idle = st.group.end_unix - fast_shard.wall.end_unix
    m = re.search(r"fast's shard \(`[^`]+`, 160 samples\) ended " + NUMBER + " s before", insights)
    assert m
    _close(m[1], idle)
    assert "fast: GPU utilization mean 94%" in insights


def test_invalid_and_missing_in_the_pipeline_tables(
    standard: tuple[Path, Standard], tmp_path
) -> None:
    root, st = standard
    md = _pipeline(root, tmp_path / "r")
    assert "compliant" not in md.lower()
    row = next(x for x in md.splitlines() if x.startswith(f"| [`{st.seed.run_dir}`]("))
    assert "**INVALID**" in row and not re.search(r"\bVALID\b", row)
    assert "200 requested, 100 processed **(mismatch)**" in row
    assert "1 **INVALID**" in _section(md, "Executive summary")
    single = _section(md, "Single-node results")
    mid = next(x for x in single.splitlines() if x.startswith("| mid |"))
    assert "— (no run recorded a LoadGen metric)" in mid
    failed = next(x for x in single.splitlines() if x.startswith(f"| [`{st.failed.run_dir}`]("))
    assert "— (run failed)" in failed and "— (samples processed unknown)" in failed
    proj = _section(md, "Full-dataset projections")
    mid = next(x for x in proj.splitlines() if x.startswith("| mid |") and "LoadGen metric |" in x)
    assert "— (no LoadGen metric recorded)" in mid


def test_projections_are_dataset_over_named_throughput(
    standard: tuple[Path, Standard], tmp_path: Path
) -> None:
    from engine.analysis.frames import load_results

    root, _ = standard
    md = _pipeline(root, tmp_path / "r")
    nodes = {(r["node"], r["benchmark"]): r for r in load_results(root).nodes.to_dicts()}
    rows = re.findall(
        r"^\| (\w+) \| ([\w.-]+) / .*? \| (wall throughput|LoadGen metric) \| "
        + NUMBER + r" samples / " + NUMBER + r" samples/s \(\3\) / 3600 = " + NUMBER + " h",
        _section(md, "Full-dataset projections"),
        re.M,
    )  # fmt: skip
    assert len(rows) == 7  # fast, slow, mid (wall only), seed's slow: each throughput it has
    for node, bench, what, size, tp, hours in rows:
        n = nodes[(node, bench)]
        col = "wall_throughput" if what == "wall throughput" else "mean_metric"
        assert _f(size) == DATASET
        _close(tp, n[col])
        _close(
            hours, n["projection_h_wall" if col == "wall_throughput" else "projection_h_loadgen"]
        )
        _close(hours, DATASET / n[col] / 3600)
    group = re.search(
        r"\(combined throughput\) / 3600 = " + NUMBER + " h",
        _section(md, "Full-dataset projections"),
    )
    assert group
    _close(group[1], DATASET / 20.0 / 3600)


def test_group_table_numbers_and_missing_group_figures(
    standard: tuple[Path, Standard], tmp_path: Path
) -> None:
    root, st = standard
    dist = _section(_pipeline(root, tmp_path / "r"), "Distributed results")
    row = next(x for x in dist.splitlines() if x.startswith("| pair-equal"))
    g = st.group
    assert f"`{g.group_dir}`" in row and "| equal (equal split) |" in row
    assert "| 320 of 320 | 16 s | 20 samples/s |" in row
    assert f"| {g.speedup:.2f}x |" in row
    m = re.search(r"\| " + NUMBER + r" \|$", row)
    assert m
    _close(m[1], g.scaling_efficiency, 3)
    path = root / g.group_dir / "group_summary.json"
    import json

    data = json.loads(path.read_text())
    data["single_run_throughputs"]["fast"] = None
    data["scaling_efficiency"] = None
    path.write_text(json.dumps(data))
    dist = _section(_pipeline(root, tmp_path / "r2"), "Distributed results")
    row = next(x for x in dist.splitlines() if x.startswith("| pair-equal"))
    assert row.endswith("| — (a node has no completed single run to compare with) |")


def test_no_group_no_runs_say_so(tmp_path: Path) -> None:
    md = _pipeline(tmp_path / "nothing", tmp_path / "r")
    assert "No run summary found" in md and "No parallel group recorded." in md


def test_rebuild_is_idempotent_and_reports_only_the_summaries(
    standard: tuple[Path, Standard], tmp_path: Path
) -> None:
    root, st = standard
    newest = root / st.failed.run_dir
    (newest / "config.snapshot.toml").write_text(
        '[settings]\nbaseline_node = "slow"\n[nodes.x]\npassword = "hunter2-secret"\n'
    )
    paths = rebuild_reports(root, tmp_path / "reports")
    runs = [p for p in paths if p.name.endswith("_comprehensive_report.md")]
    assert len(runs) == 11 and {p.parent.name for p in runs} == {s.run_dir for s in st.all_runs()}
    assert [p.name for p in paths[-5:]] == [
        "performance_analysis.png",
        "scaling_analysis.png",
        "throughput_comparison.png",
        "gpu_utilization.png",
        "mlconsole_pipeline_report.md",
    ]
    first = {p: p.read_bytes() for p in paths}
    again = rebuild_reports(root, tmp_path / "reports")
    assert again == paths
    assert {p: p.read_bytes() for p in again} == first
    for p in paths:
        if p.suffix == ".md":
            assert "hunter2" not in p.read_text()
    assert "Baseline: slow (settings.baseline_node)." in paths[-1].read_text()


def test_baseline_node_argument_changes_the_comparison(
    standard: tuple[Path, Standard], tmp_path: Path
) -> None:
    root, _ = standard
    md = _pipeline(root, tmp_path / "r", baseline_node="fast", charts=False)
    assert not (tmp_path / "r" / "charts").exists()
    assert "slow is 0.48x fast by wall throughput" in _section(md, "Insights")


def test_run_reports_in_a_results_dir_built_by_hand(tmp_path: Path) -> None:
    """A latency metric (SingleStream) has no samples/s projection and says why."""
    b = ResultsBuilder(tmp_path)
    s = b.run("a", 100, duration=10.0, scenario="SingleStream",
              metric=("90.0th percentile latency (ns)", 5224507.0, "ns"))  # fmt: skip
    md = write_run_report(tmp_path / s.run_dir).read_text()
    assert _cell(md, "LoadGen metric") == "5,224,507 ns"
    assert _cell(md, "Full-dataset projection, LoadGen") == (
        "— (the LoadGen metric is in ns, not samples/s)"
    )


def test_concurrent_rebuilds_leave_whole_files(
    standard: tuple[Path, Standard], tmp_path: Path
) -> None:
    """The end of a plan and the console's export key may rebuild at the same moment."""
    import threading

    from PIL import Image

    root, _ = standard
    out: list[list[Path]] = []
    threads = [
        threading.Thread(target=lambda: out.append(rebuild_reports(root, tmp_path / "r")))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 2 and out[0] == out[1]
    for p in out[0]:
        if p.suffix == ".png":
            with Image.open(p) as img:
                img.verify()
    assert not list((tmp_path / "r").rglob("*.tmp")) and not list(root.rglob("*.tmp"))


def test_the_console_shows_service_logs_under_the_live_fleet_run() -> None:
    from console.tui.rows import Changes
    from console.tui.state import ConsoleState
    from engine.events import RunQueued, RunStateChanged, ServiceLog, ServiceStateChanged
    from engine.model import Mode, RunSpec, RunState, Scenario

    state = ConsoleState(None, clock=lambda: 0.0)
    spec = RunSpec(
        "s1-fleet",
        "fleet",
        "b",
        Scenario.OFFLINE,
        Mode.PERFORMANCE,
        10,
        label="one LoadGen result over a, b",
    )
    changes = Changes()
    for ev in (
        RunQueued(spec),
        RunStateChanged("s1-fleet", "fleet", RunState.STARTING, "starting endpoints"),
        ServiceStateChanged("a", "vllm", "waiting", "/health answered 503"),
        ServiceLog("a", "vllm", "stderr", ("INFO loading weights",)),
        RunStateChanged("s1-fleet", "fleet", RunState.RUNNING, ""),
    ):
        state.apply(ev, changes)
    assert list(state.logs["s1-fleet"]) == [
        "[a] service vllm: waiting — /health answered 503",
        "[a] INFO loading weights",
    ]
    assert state.plan_note == "fleet s1-fleet: one LoadGen result over a, b"


def test_fleet_lines_label_one_result_and_each_share() -> None:
    """The batch line and the console's details say what a fleet run is and each node's share."""
    from console.batch import fleet_line
    from console.tui.rows import RunRow
    from console.tui.screens.run_details import fleet_lines, group_details_text
    from console.tui.widgets.runs_table import run_cells

    fleet = {
        "nodes": ["slow", "fast"],
        "completed": 30,
        "failed": 0,
        "retries": 2,
        "sut_name": "mlconsole fleet Network SUT (slow: m; fast: m)",
        "endpoints": [
            {
                "node": "slow",
                "queries": 10,
                "query_share": 1 / 3,
                "state": "up",
                "error_count": 2,
                "ttft_s": {"p90": 0.02},
                "tokens_per_s": 500.0,
            },
            {
                "node": "fast",
                "queries": 20,
                "query_share": 2 / 3,
                "state": "up",
                "error_count": 0,
                "ttft_s": {"p90": 0.01},
                "tokens_per_s": 1000.0,
            },
        ],
        "excluded": [{"node": "gone", "reason": "not ready"}],
    }
    line = fleet_line(fleet)
    assert line.startswith("one LoadGen result over slow, fast")
    assert "slow 10 queries (33%), 2 errors" in line and "left out: gone" in line
    text = "\n".join(fleet_lines(fleet))
    assert "one LoadGen result over slow, fast" in text and "fast: 20 queries (66.7%)" in text
    from engine.results.group_schema import GroupSummary

    summary = GroupSummary(group_id="s1-g", name="g", group_dir=None, nodes=("a", "b"))
    group = group_details_text(summary, "g", "finished")
    assert "2 separate LoadGen runs: a planning figure, not an MLPerf result" in group
    row = RunRow(
        "s4-fleet",
        "fleet",
        "b",
        "Offline",
        "performance",
        30,
        label="one LoadGen result over slow, fast",
    )
    cells = run_cells(row)
    assert cells[0] == "fleet s4-fleet" and "slow+fast" in cells
