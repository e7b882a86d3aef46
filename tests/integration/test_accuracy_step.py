"""The accuracy step end to end: the real LoadGen runs the bundled harness in accuracy mode
(simulated node speed), then the bundled scoring script scores its mlperf_log_accuracy.json
on the node; the output is kept as accuracy.txt and checked against the demo's target."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.batch import BatchPrinter
from engine.config.load import load_config
from engine.errors import ConfigError
from engine.results.schema import read_run_summary
from tests.support.config_writer import write_config
from tests.support.plans import plan_table, run_plan

SCORE = "{python} -m engine.harness.score --accuracy-log {accuracy_log} --shard-start {shard_start}"


def _plan(mode: str = "accuracy") -> str:
    return plan_table("run", node="fast", benchmark="demo", mode=mode, samples=60)


def _scored(tmp_path: Path, harness_args: str = "", bench_extra: str = "") -> Path:
    """A config whose accuracy run of 60 samples (8 tokens each) `SCORE` scores."""
    return write_config(
        tmp_path, plan=_plan(), extra_args=f"--tokens 8 {harness_args}".rstrip(),
        bench_extra=f'accuracy_command = "{SCORE}"\n{bench_extra}'.rstrip(),
    )  # fmt: skip


async def _run(cfg: Path) -> tuple[Path, list[str]]:
    import io

    out = io.StringIO()
    _, outcome, _ = await run_plan(cfg, BatchPrinter(out))
    assert outcome.ok, outcome.failures
    (run_dir,) = [p.parent for p in (cfg.parent / "results").glob("*/orchestrator_summary.json")]
    return run_dir, out.getvalue().splitlines()


async def test_an_accuracy_run_is_scored_and_meets_the_demo_target(tmp_path: Path) -> None:
    cfg = _scored(tmp_path)
    run_dir, lines = await _run(cfg)
    text = (run_dir / "accuracy.txt").read_text()
    scores = "{'token_accuracy': 100.0, 'gen_len': 480, 'gen_num': 60, 'tokens_per_sample': 8.0}"
    assert scores in text
    s = read_run_summary(run_dir / "orchestrator_summary.json")
    assert s.accuracy is not None and s.accuracy.state == "scored"
    assert s.accuracy.verdict == "met"
    assert s.accuracy.scores == {"token_accuracy": 100.0, "gen_len": 480.0, "gen_num": 60.0,
                                 "tokens_per_sample": 8.0}  # fmt: skip
    (check,) = s.accuracy.checks
    assert (check.metric, check.low, check.met) == ("token_accuracy", 99.0, True)
    assert "accuracy.txt" in s.files
    raw = json.loads((run_dir / "orchestrator_summary.json").read_text())
    assert raw["accuracy"]["verdict"] == "met"
    assert any("accuracy met (99% targets): token_accuracy 100" in line for line in lines)
    report = (run_dir / "fast_comprehensive_report.md").read_text()
    assert "## Accuracy" in report and "token_accuracy 100 meets >= 99" in report
    assert str(tmp_path) not in report  # reports write no machine path


async def test_a_wrong_answer_misses_the_target_and_says_by_how_much(tmp_path: Path) -> None:
    # The harness answers with seed 7's token ids; the script expects seed 0's.
    cfg = _scored(tmp_path, "--seed 7", 'accuracy_level = "99.9"')
    run_dir, lines = await _run(cfg)
    s = read_run_summary(run_dir / "orchestrator_summary.json")
    assert s.accuracy is not None and s.accuracy.verdict == "missed"
    assert s.accuracy.checks[0].low == pytest.approx(99.9)
    assert any("token_accuracy 0 misses >= 99.9 (reference 100)" in line for line in lines)


async def test_a_failing_accuracy_command_is_recorded_with_its_exit_code(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path, plan=_plan(), extra_args="--tokens 8",
        bench_extra='accuracy_command = "{python} -m engine.harness.score'
                    ' --accuracy-log /nonexistent"',
    )  # fmt: skip
    run_dir, lines = await _run(cfg)
    s = read_run_summary(run_dir / "orchestrator_summary.json")
    assert s.accuracy is not None and s.accuracy.state == "failed"
    assert s.accuracy.exit_code == 2
    assert "cannot read /nonexistent" in (run_dir / "accuracy_stderr.txt").read_text()
    failed = "accuracy step failed: the accuracy command exited with code 2"
    assert any(failed in ln for ln in lines)


async def test_a_performance_run_has_no_accuracy_step(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path, plan=_plan("performance"), bench_extra=f'accuracy_command = "{SCORE}"'
    )
    run_dir, _ = await _run(cfg)
    assert not (run_dir / "accuracy.txt").exists()
    assert read_run_summary(run_dir / "orchestrator_summary.json").accuracy is None


def test_an_unknown_accuracy_level_is_one_clear_error(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, plan=_plan(), bench_extra='accuracy_level = "95"')
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert "benchmarks.demo.accuracy_level" in str(err.value) and '"99.9"' in str(err.value)
