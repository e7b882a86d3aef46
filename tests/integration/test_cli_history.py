"""`mlconsole history` and `mlconsole compare` as a user runs them: the real command in a
subprocess over results written by the real store and schema; every figure it prints equals
what engine.analysis.history / compare compute in this process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.analysis.compare import compare_runs, compare_stage, find_run
from engine.analysis.history import load_history
from tests.support.cli import mlconsole
from tests.support.paths import DATA
from tests.support.results_builder import ResultsBuilder, standard_results

V010 = DATA / "results-0.1.0"


def _two_days(root: Path) -> tuple[str, str]:
    b = ResultsBuilder(root)
    for i, v in enumerate([20.0, 21.0, 19.5]):
        b.run(
            "fast",
            40,
            duration=2.0,
            metric=("Samples per second", v, "samples/s"),
            start=1e9 + i * 3600,
        )
    low = b.run(
        "fast",
        40,
        duration=2.5,
        metric=("Samples per second", 16.0, "samples/s"),
        start=1e9 + 86_400,
    )
    b.run("slow", 40, duration=4.0, metric=("Samples per second", 10.0, "samples/s"), start=1e9)
    return str(low.run_dir), str(low.run_id)


def test_history_prints_every_run_grouped_and_flags_the_regression(tmp_path: Path) -> None:
    low_dir, _ = _two_days(tmp_path / "results")
    res = mlconsole("history", cwd=tmp_path)  # default: ./results
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "5 recorded runs in results, 1 flagged as regressions" in out
    assert "fast · demo-llm · Offline · performance — 4 runs, 1 regression" in out
    assert "slow · demo-llm · Offline · performance — 1 run" in out
    line = next(x for x in out.splitlines() if low_dir in x)
    h = load_history([tmp_path / "results"])
    row = next(r for r in h.runs.to_dicts() if r["run_dir"] == low_dir)
    assert f"-{abs(row['change']) * 100:.3g}%" in line and "▼ REGRESSION" in line
    assert "median 20 samples/s of 3" in line and "LoadGen metric" in line


def test_history_json_equals_the_engines_history(tmp_path: Path) -> None:
    standard_results(tmp_path / "a")
    _two_days(tmp_path / "b")
    res = mlconsole("history", "a", "b", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    h = load_history([tmp_path / "a", tmp_path / "b"])
    rows = [r for g in data["groups"] for r in g["runs"]]
    engine_rows = h.runs.to_dicts()
    assert [r["path"] for r in rows] == [
        str(Path(r["path"]).relative_to(tmp_path)) for r in engine_rows
    ]
    for mine, theirs in zip(rows, engine_rows, strict=True):
        for key in ("value", "previous_median", "previous_runs", "change", "regression", "basis"):
            assert mine[key] == theirs[key], key
    assert data["regressions"] == h.flagged.height == 1
    assert data["margin"] == 0.05


def test_history_takes_the_configs_results_dir_and_margin(tmp_path: Path) -> None:
    _two_days(tmp_path / "elsewhere")
    (tmp_path / "mlconsole.toml").write_text(
        '[settings]\nresults_dir = "elsewhere"\nregression_margin = 0.25\n'
        '[nodes.fast]\n[benchmarks.demo]\ncommand = "true"\ndataset_size = 10\n'
    )
    res = mlconsole("history", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["results_dirs"] == ["elsewhere"] and data["margin"] == 0.25
    assert data["regressions"] == 0  # 16 is 20 % below 20: within 25 %
    res = mlconsole("history", "--json", "--margin", "0.1", cwd=tmp_path)
    assert json.loads(res.stdout)["regressions"] == 1


@pytest.mark.parametrize(
    "args, needle",
    [
        (["history", "nowhere"], "nowhere: not a results directory (no such directory)"),
        (["history", "file.txt"], "file.txt: not a results directory"),
        (["history"], "results: not a results directory"),
        (["history", ".", "--margin", "5"], "--margin 5: give a fraction"),
        (["compare", "a"], "compare takes two runs"),
        (["compare", "x", "y", "--results", "."], "x: no run dir or run id of that name"),
        (["compare", "--stage", "nope", "--results", "."], "no recorded run belongs to a stage"),
    ],
)
def test_bad_paths_and_arguments_are_one_line_and_exit_2(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    (tmp_path / "file.txt").write_text("x")
    res = mlconsole(*args, cwd=tmp_path)
    assert res.returncode == 2, res.stdout + res.stderr
    assert needle in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_history_names_a_summary_it_cannot_read(tmp_path: Path) -> None:
    _two_days(tmp_path / "results")
    broken = tmp_path / "results" / "fast_broken"
    broken.mkdir()
    (broken / "orchestrator_summary.json").write_bytes(b"\x00\xff not json")
    res = mlconsole("history", str(tmp_path / "results"))
    assert res.returncode == 0, res.stderr
    assert "skipped:" in res.stderr and "fast_broken" in res.stderr, res.stderr
    assert "5 recorded runs" in res.stdout, res.stdout


def test_compare_two_runs_by_id_and_by_dir(tmp_path: Path) -> None:
    st = standard_results(tmp_path / "results")
    a, b = st.slow[160], st.fast[160]
    res = mlconsole("compare", str(a.run_id), f"results/{b.run_dir}", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    c = compare_runs(
        find_run(str(a.run_id), [tmp_path / "results"]),
        find_run(str(tmp_path / "results" / str(b.run_dir)), []),
    )
    assert data["loadgen_metric"]["ratio"] == c.loadgen.ratio == pytest.approx(2.1)
    assert data["wall_throughput"]["difference"] == c.wall.difference
    assert c.wall.difference == pytest.approx(b.wall_throughput - a.wall_throughput)  # type: ignore[operator]
    assert data["differs"] == ["node"]
    text = mlconsole("compare", str(a.run_id), str(b.run_id), cwd=tmp_path).stdout
    assert "LoadGen metric (Samples per second)" in text and "B/A 2.10x" in text
    assert "wall throughput (model load included)" in text


def test_compare_a_stage_gives_both_speedups_against_the_baseline(tmp_path: Path) -> None:
    standard_results(tmp_path / "results")
    res = mlconsole("compare", "--stage", "sweep", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    engine = compare_stage([tmp_path / "results"], "sweep")
    fast = next(n for n in data["nodes"] if n["node"] == "fast" and n["benchmark"] == "demo-llm")
    mine = next(n for n in engine.nodes if n["node"] == "fast" and n["benchmark"] == "demo-llm")
    assert fast["baseline_node"] == "slow"
    for key in ("relative_wall", "relative_loadgen", "wall_vs_baseline", "loadgen_vs_baseline"):
        assert fast[key] == mine[key], key
    assert fast["relative_loadgen"] == pytest.approx(2.1)
    text = mlconsole("compare", "--stage", "sweep", cwd=tmp_path).stdout
    assert "LoadGen metric (mean)" in text and "wall throughput" in text and "2.10x" in text


def test_history_chart_is_written(tmp_path: Path) -> None:
    res = mlconsole("history", str(V010), "--chart", "h.png", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "chart: h.png" in res.stdout
