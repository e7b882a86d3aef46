"""Live progress from what harnesses really write: a tqdm bar on stderr redrawn with carriage
returns and no newline for a long time, Python logging on stderr, the detail log's total for
the stream scenarios; and the console row that says LoadGen will issue another count."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from console.tui.state import ConsoleState
from console.tui.widgets.runs_table import run_cells
from engine.events import RunQueued, RunSettingsResolved
from engine.loadgen.progress import DetailProgress
from engine.model import Mode, NodeSpec, RunSpec, Scenario
from engine.run.live_progress import LiveProgress
from engine.transport.local import LocalTransport
from engine.transport.tail import LineTail

SPEC = RunSpec("r1", "n", "b", Scenario.OFFLINE, Mode.PERFORMANCE, 100)


async def test_a_tqdm_bar_is_read_while_it_is_redrawn_without_a_newline(tmp_path: Path) -> None:
    err = tmp_path / "stderr.log"
    transport = LocalTransport(NodeSpec("n", python=sys.executable))
    tail = LineTail(str(err))
    progress = LiveProgress(SPEC, re.compile(r"(?P<completed>\d+)/(?P<total>\d+) \["), ("stderr",))

    async def poll() -> tuple[int, int | None, str]:
        for line in await tail.poll(transport):
            progress.harness_line("stderr", line)
        if tail.partial:
            progress.harness_line("stderr", tail.partial)
        return progress.current()

    err.write_text("loading\n\r  5%|5         | 5/100 [00:01<00:19,  4.9it/s]")
    assert await poll() == (5, 100, "stderr")
    with err.open("a") as f:
        f.write("\r 40%|####      | 40/100 [00:08<00:12,  5.0it/s]")
    assert await poll() == (40, 100, "stderr")
    assert tail.offset == len("loading\n")  # the bar is not a delivered line yet
    with err.open("a") as f:
        f.write("\r100%|##########| 100/100 [00:20<00:00,  5.0it/s]\ndone\n")
    assert await poll() == (100, 100, "stderr")


def test_a_pattern_on_stdout_ignores_stderr_and_both_reads_either() -> None:
    pattern = re.compile(r"Samples run: (?P<completed>\d+)")
    only_out = LiveProgress(SPEC, pattern, ("stdout",))
    only_out.harness_line("stderr", "INFO:Llama-8B-SUT:Samples run: 16")
    assert only_out.current() == (0, 100, "none")
    both = LiveProgress(SPEC, pattern, ("stdout", "stderr"), expected=13400)
    both.harness_line("stderr", "INFO:Llama-8B-SUT:Samples run: 16")
    assert both.current() == (16, 13400, "stderr")  # the probe's count is the total


def test_stream_scenarios_without_min_duration_count_the_minimum_not_the_pool() -> None:
    d = DetailProgress()
    lines = [
        ('effective_scenario', '"SingleStream"'), ('effective_test_mode', '"PerformanceOnly"'),
        ('effective_min_duration_ms', '0'), ('effective_min_sample_count', '100'),
        ('generated_query_count', '601'), ('generated_samples_per_query', '1'),
    ]  # fmt: skip
    d.feed(f':::MLLOG {{"key": "{k}", "value": {v}, "metadata": {{}}}}' for k, v in lines)
    assert d.total == 100


def test_the_runs_table_shows_the_count_loadgen_will_issue() -> None:
    state = ConsoleState(None, clock=lambda: 0.0)
    changes = state.apply_all(
        [
            RunQueued(SPEC),
            RunSettingsResolved(
                "r1", "n", 100, 13400, True, False, "LoadGen will issue 13,400 samples, ..."
            ),
        ]
    )
    assert "r1" in changes.runs
    row = state.runs["r1"]
    assert (row.issued, row.total) == (13400, 13400)
    assert run_cells(row)[-1] == "→13400"


def test_a_live_run_with_no_progress_source_says_so_in_its_row() -> None:
    from engine.events import RunProgressSources, RunStateChanged
    from engine.model import RunState

    state = ConsoleState(None, clock=lambda: 0.0)
    state.apply_all(
        [
            RunQueued(SPEC),
            RunProgressSources("r1", "no live progress: ...", False),
            RunStateChanged("r1", "n", RunState.RUNNING),
        ]
    )
    assert run_cells(state.runs["r1"])[2] == "no progress"
