"""The presets' real command lines, run against stand-ins of the MLCommons reference harnesses
(tests/support/standins: the real flags, the real LoadGen set-up and logging; only vLLM and
the GPU are simulated, since neither exists here).

The story of issue 15: a "100-sample" llama3.1-8b smoke run used to process 13,400 samples
with no word before or during the run. Now mlconsole says before launch what LoadGen will
issue and why, or (exact_samples) makes it issue the 100; and progress and ETA move during the
run, read from where the harness writes them.
"""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path

from console.batch import BatchPrinter
from engine.config.load import parse_config
from engine.config.presets import preset_config_text
from engine.events import (
    Event,
    RunFinished,
    RunProgress,
    RunProgressSources,
    RunSettingsResolved,
    RunStateChanged,
)
from engine.model import Plan, RunState
from engine.run.orchestrator import Orchestrator
from tests.support.paths import REPO_ROOT

STANDINS = REPO_ROOT / "tests" / "support" / "standins" / "inference"


def preset_config(
    tmp_path: Path,
    name: str,
    *,
    speed: float,
    edits: dict[str, str] = {},  # noqa: B006
    samples: int | None = None,
):
    """The config `mlconsole init --preset NAME` writes, pointed at the stand-ins and tmp_path."""
    text = preset_config_text(name)
    text = text.replace('"/opt/mlcommons/inference"', f'"{STANDINS}"')
    text = text.replace('results_dir = "results"', f'results_dir = "{tmp_path / "results"}"')
    text = text.replace('reports_dir = "reports"', f'reports_dir = "{tmp_path / "reports"}"')
    text = text.replace("poll_interval_s = 1.0", "poll_interval_s = 0.1")
    text = text.replace(
        'workdir = ".mlconsole/nodes/local"',
        f'workdir = "{tmp_path / "node"}"\nenv = {{ STANDIN_SPEED = "{speed}" }}',
    )
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    config = parse_config(text, f"{name}.toml")
    # The preset's first stage (its smoke run) only, with `samples` when given.
    stage = config.plan.stages[0]
    runs = tuple(replace(r, samples=samples or r.samples) for r in stage.runs)
    return replace(config, plan=Plan((replace(stage, runs=runs),)))


async def run_plan(config) -> tuple[list[Event], str]:
    events: list[Event] = []
    out = io.StringIO()
    printer = BatchPrinter(out)
    orch = Orchestrator(config)
    orch.bus.add_listener(events.append)
    orch.bus.add_listener(printer)
    try:
        outcome = await orch.run_plan()
    finally:
        await orch.close()
    assert outcome.succeeded, out.getvalue()
    return events, out.getvalue()


def progress_of(events: list[Event]) -> list[RunProgress]:
    return [e for e in events if isinstance(e, RunProgress) and e.completed > 0]


async def test_a_100_sample_run_says_before_launch_it_will_run_13400_and_why(tmp_path) -> None:
    config = preset_config(
        tmp_path, "llama3.1-8b-offline", speed=6000, edits={"exact_samples = true": ""}
    )
    events, printed = await run_plan(config)
    kinds = [type(e) for e in events]
    settings = next(e for e in events if isinstance(e, RunSettingsResolved))
    running = next(
        i for i, e in enumerate(events)
        if isinstance(e, RunStateChanged) and e.state == RunState.RUNNING
    )  # fmt: skip
    assert kinds.index(RunSettingsResolved) < running  # said before launch
    assert (settings.requested, settings.issued, settings.holds) == (100, 13400, False)
    assert settings.sentence.startswith(
        "LoadGen will issue 13,400 samples, not the 100 requested "
        "(min_query_count 13368 from mlperf.conf;"
    )
    assert settings.fix_lines == ("llama3_1-8b.Offline.min_duration = 0",
                                  "llama3_1-8b.Offline.min_query_count = 100")  # fmt: skip
    assert "LoadGen will issue 13,400 samples" in printed
    assert "to run exactly 100, add to user_conf (or set exact_samples = true)" in printed
    # Progress comes from the harness's stderr logging and moves, with an ETA, toward 13,400.
    sources = next(e for e in events if isinstance(e, RunProgressSources))
    assert sources.live and "on stderr" in sources.sentence
    moving = progress_of(events)
    assert len(moving) >= 3 and {p.source for p in moving} == {"stderr"}
    assert all(p.total == 13400 for p in moving)
    assert [p.completed for p in moving] == sorted({p.completed for p in moving})
    assert any(p.eta_s is not None and p.eta_s > 0 for p in moving)
    progress = (r"progress \d+/13400 \(\d+%\), [\d,.]+ samples/s so far,"
                r" ETA [\d.]+ (?:s|min \d+ s|min) \[stderr\]")  # fmt: skip
    assert re.search(progress, printed)
    (finished,) = [e for e in events if isinstance(e, RunFinished)]
    assert finished.summary.samples_processed == 13400


async def test_exact_samples_makes_loadgen_issue_the_100_asked(tmp_path) -> None:
    config = preset_config(tmp_path, "llama3.1-8b-offline", speed=400)
    events, printed = await run_plan(config)
    settings = next(e for e in events if isinstance(e, RunSettingsResolved))
    assert (settings.issued, settings.holds, settings.exact_samples) == (100, True, True)
    assert "LoadGen will issue 100 samples, as requested (exact_samples" in printed
    (finished,) = [e for e in events if isinstance(e, RunFinished)]
    assert finished.summary.samples_processed == 100
    user_conf = (Path(finished.run_dir) / "user.conf").read_text()
    assert "llama3_1-8b.Offline.min_query_count = 100" in user_conf
    assert len(progress_of(events)) >= 2


async def test_server_progress_from_the_trace_flag_and_the_stop_error_keeps_the_results(
    tmp_path,
) -> None:
    config = preset_config(
        tmp_path,
        "llama3.1-8b-server",
        speed=2000,
        edits={"{model}.Server.target_qps = 0.5": "{model}.Server.target_qps = 300"},
        samples=300,  # about a second at 300 queries/s: several polls see it move
    )
    events, printed = await run_plan(config)
    settings = next(e for e in events if isinstance(e, RunSettingsResolved))
    assert (settings.issued, settings.holds) == (300, True)
    assert settings.trace_note.startswith("LoadGen's trace is on: about")
    assert (
        "LoadGen's trace" in next(e for e in events if isinstance(e, RunProgressSources)).sentence
    )
    moving = progress_of(events)
    assert moving and {p.source for p in moving} == {"trace"}
    (finished,) = [e for e in events if isinstance(e, RunFinished)]
    # SUTServer.stop() raises AttributeError after LoadGen wrote complete logs.
    assert finished.state == RunState.HARNESS_ERROR_AFTER_COMPLETE
    assert finished.summary.samples_processed == 300
    assert (Path(finished.run_dir) / "mlperf_log_trace.json").stat().st_size > 0
    assert "ft_response_thread" in (Path(finished.run_dir) / "stderr.log").read_text()


async def test_a_harness_that_decides_its_settings_is_told_apart_by_its_detail_log(
    tmp_path,
) -> None:
    """NVIDIA-style: the harness takes its own settings and writes LoadGen's logs into a
    directory it names itself. mlconsole probes nothing, finds the logs through the log_dir
    pattern, and says as soon as the detail log shows another count than requested."""
    config = preset_config(
        tmp_path,
        "llama3.1-8b-offline",
        speed=8000,
        edits={
            'loadgen_settings = "user_conf"\nexact_samples = true': 'loadgen_settings = "harness"',
            "--output-log-dir {output_dir}": (
                "--output-log-dir {output_dir}/logs/sys1/llama/Offline"
            ),
            'cwd = "{inference}/language/llama3.1-8b"':
                'cwd = "{inference}/language/llama3.1-8b"\nlog_dir = "{output_dir}/logs/*/*/*"',
        },
    )  # fmt: skip
    events, printed = await run_plan(config)
    assert not [e for e in events if isinstance(e, RunSettingsResolved)]
    assert "LoadGen issues 13,400 samples, not the 100 requested (its detail log" in printed
    (finished,) = [e for e in events if isinstance(e, RunFinished)]
    assert finished.summary.samples_processed == 13400
    assert (Path(finished.run_dir) / "mlperf_log_detail.txt").is_file()


async def test_gptj_runs_with_its_underscore_flags_log_path_and_always_on_trace(tmp_path) -> None:
    config = preset_config(
        tmp_path,
        "gptj-server",
        speed=1000,
        edits={"gptj.Server.target_qps = 0.5": "gptj.Server.target_qps = 200"},
        samples=200,
    )
    events, printed = await run_plan(config)
    settings = next(e for e in events if isinstance(e, RunSettingsResolved))
    assert (settings.issued, settings.holds) == (200, True) and settings.trace_note
    moving = progress_of(events)
    assert moving and {p.source for p in moving} <= {"trace", "stdout"}
    (finished,) = [e for e in events if isinstance(e, RunFinished)]
    assert finished.state == RunState.SUCCEEDED
    assert finished.summary.samples_processed == 200
    assert "Completed :  200" in (Path(finished.run_dir) / "stdout.log").read_text()
