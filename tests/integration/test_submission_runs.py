"""Runs of the bundled harness (the real LoadGen, simulated speeds) are development runs: the
rules they break are named with their numbers, and the batch line and run summary say so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from console.batch import submission_line
from engine.loadgen.parse import read_run_logs
from engine.model import Benchmark, Mode, RunSpec, RunState, Scenario
from engine.results.schema import RunSummary
from engine.results.summary import build_run_summary
from engine.submission.eligibility import assess_run_dir

REPO = Path(__file__).resolve().parents[2]


def _demo_run(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "engine.harness.demo", "--output-dir", str(out),
           "--scenario", "Offline", "--total-sample-count", "100", "--speed", "500",
           "--tokens", "8"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return out


def _summary_of(run: Path) -> RunSummary:
    """The run summary the orchestrator would write for `run`, a succeeded demo run."""
    bench = Benchmark("demo", "true", 100, model="demo", simulated=True)
    spec = RunSpec("r1", "local", "demo", Scenario.OFFLINE, Mode.PERFORMANCE, 100)
    return build_run_summary(
        spec=spec, benchmark=bench, run_dir_name="out", simulated=True,
        state=RunState.SUCCEEDED, exit_code=0, detail="", start_unix=0.0, end_unix=1.0,
        logs=read_run_logs(run), facts=None, telemetry=None, files=(),
    )  # fmt: skip


def test_a_demo_run_is_a_development_run_with_the_rules_it_breaks(tmp_path):
    run = _demo_run(tmp_path)
    e = assess_run_dir(run, "v6.0", "demo")
    assert e.development_run
    assert e.broken_rules == ("benchmark_in_round", "min_duration")
    assert "min_duration 0 ms < 600000 ms (600 s) the round requires" in e.reasons()
    # LoadGen 6.0.17's built-in mlperf.conf gives the v6.0 seeds; LoadGen itself said VALID.
    assert {"rng_seeds", "loadgen_valid", "no_loadgen_errors"} <= set(e.checked)
    # Judged as llama3.1-8b, the same run breaks the model's rules, each with its numbers.
    e = assess_run_dir(run, "v6.0", "llama3_1-8b")
    reasons = " | ".join(e.reasons())
    assert "performance_sample_count 100 < 13368 required for llama3.1-8b" in reasons
    assert "samples_per_query 100 < 13368 required for closed llama3.1-8b Offline" in reasons
    assert "token_latencies" not in e.broken_rules or "use_token_latencies" in reasons


def test_the_run_summary_and_batch_line_carry_the_verdict(tmp_path):
    run = _demo_run(tmp_path)
    summary = _summary_of(run)
    again = RunSummary.from_json(summary.to_json())
    assert again.eligibility == summary.eligibility and again.eligibility.development_run
    assert again.checker_headline.key == "result_samples_per_second"
    line = submission_line(again)
    assert line.startswith("checker headline ")
    assert line.endswith("development run (v6.0: benchmark_in_round, min_duration)")


def test_the_run_report_and_console_details_say_development_run(tmp_path):
    from console.tui.screens.run_details import run_details_text
    from engine.analysis.report.run import render_run_report
    from engine.results.store import RecordedRun

    run = _demo_run(tmp_path)
    summary = _summary_of(run)
    expected = "development run: 2 rule(s) of v6.0 broken"
    rule = "- min_duration 0 ms < 600000 ms (600 s) the round requires [min_duration]"
    report = render_run_report(RecordedRun(run, summary))
    assert "## Submission (the checker's view)" in report
    assert expected in report and rule in report
    details = run_details_text(summary, str(run), "succeeded")
    assert expected in details and rule in details
