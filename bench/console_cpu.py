#!/usr/bin/env python3
"""`console_cpu_percent_16_runs`: the console process's CPU while 16 runs stream progress
and logs.

Sixteen local nodes each run the bundled harness (the real LoadGen; simulated speed 40
samples/s, a progress line every 4 samples: 10 stdout lines/s per run, 160 in all) side by
side; the config's poll interval is the default 0.5 s. The console is the real app, headless
(Textual composes every frame; the headless driver only skips writing it to a terminal), at
160x48 with the first run's log on screen.

CPU is the process's own user+system time from /proc/self/stat (all its threads) over a
wall-clock window once all 16 runs are streaming, as a percentage of one core. The console
process also hosts the engine (the orchestrator polls each run's files), so the same plan is
first measured with the orchestrator alone: `engine_only_cpu_percent_16_runs`. The
difference is what the UI costs. Each phase measures WINDOWS windows of WINDOW_S seconds.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from figure_lines import figure, load_average, machine, median, note, spread, use_repo  # noqa: E402

use_repo()

RUNS = 16
SPEED = 40.0
SAMPLES = 1800  # 45 s at SPEED: longer than startup + both windows
WINDOW_S = 5.0
WINDOWS = 3
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> float:
    """User + system CPU of this process (every thread), from /proc/self/stat."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def write_plan_config(workdir: Path) -> Path:
    from tests.support.config_writer import streaming_runs_config

    return streaming_runs_config(workdir, runs=RUNS, speed=SPEED, samples=SAMPLES)


async def windows(pause) -> list[float]:
    """CPU % of one core over WINDOWS consecutive windows."""
    out = []
    for _ in range(WINDOWS):
        c0, t0 = cpu_seconds(), time.monotonic()
        await pause(WINDOW_S)
        out.append(100.0 * (cpu_seconds() - c0) / (time.monotonic() - t0))
    return out


def streaming(runs: dict) -> bool:
    return len(runs) == RUNS and all((c or 0) > 0 for c in runs.values())


async def engine_only(config_path: Path) -> tuple[list[float], int]:
    from engine.config.load import load_config
    from engine.events import RunProgress
    from engine.run.orchestrator import Orchestrator

    orch = Orchestrator(load_config(config_path))
    completed: dict[str, int] = {}
    events = [0]

    def count(e: object) -> None:
        events[0] += 1
        if isinstance(e, RunProgress):
            completed[e.run_id] = e.completed

    orch.bus.add_listener(count)
    plan = asyncio.create_task(orch.run_plan())
    while not streaming(completed):
        await asyncio.sleep(0.1)
    n0 = events[0]
    result = await windows(asyncio.sleep)
    rate = int((events[0] - n0) / (WINDOW_S * WINDOWS))
    orch.cancel_all()
    await plan
    await orch.close()
    return result, rate


async def console(config_path: Path) -> tuple[list[float], int, int]:
    from console.tui.app import ConsoleApp
    from console.tui.messages import EngineBatch
    from engine.config.load import load_config

    batches = [0]

    def hook(message: object) -> None:
        if isinstance(message, EngineBatch):
            batches[0] += 1

    app = ConsoleApp(load_config(config_path), config_note="bench")
    async with app.run_test(size=(160, 48), message_hook=hook) as pilot:
        await pilot.press("s")
        while not streaming({k: r.completed for k, r in app.state.runs.items() if r.live}):
            await pilot.pause(0.1)
        b0 = batches[0]
        lines0 = sum(len(v) for v in app.state.logs.values())
        result = await windows(asyncio.sleep)
        per_s = (batches[0] - b0) / (WINDOW_S * WINDOWS)
        lines = sum(len(v) for v in app.state.logs.values()) - lines0
        app.orchestrator.cancel_all()
        await app.workers.wait_for_complete([w for w in app.workers if w.group == "plan"])
    return result, int(per_s), int(lines / (WINDOW_S * WINDOWS))


def main() -> None:
    note(f"machine: {machine()}; load average before: {load_average()}")
    with tempfile.TemporaryDirectory() as d:
        cfg = write_plan_config(Path(d) / "engine")
        engine, events_per_s = asyncio.run(engine_only(cfg))
    note(f"engine alone: {spread(engine, '%')}, {events_per_s} engine events/s")
    with tempfile.TemporaryDirectory() as d:
        cfg = write_plan_config(Path(d) / "console")
        ui, batches_per_s, lines_per_s = asyncio.run(console(cfg))
    note(
        f"console: {spread(ui, '%')}, {batches_per_s} batched messages/s carrying "
        f"about {lines_per_s} log lines/s (bounded per run in memory)"
    )
    note(f"load average after: {load_average()} (16 harness processes share the cores)")
    figure("engine_only_cpu_percent_16_runs", median(engine))
    figure("console_cpu_percent_16_runs", median(ui))


if __name__ == "__main__":
    main()
