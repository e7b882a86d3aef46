#!/usr/bin/env python3
"""`keypress_repaint_ms`: from a key press to the next screen update, with runs streaming.

The real app, headless at 160x48, on a plan of RUNS local runs of the bundled harness (the
real LoadGen, simulated speed, a progress line every 4 samples) that stream progress and logs
while we press keys. Each press moves the runs table's cursor (down, then up, ...): the row
highlight moves and the log pane switches to that run's lines, so every press has a visible
effect. The time is from handing the key to the app (Pilot.press) to the first screen update
the compositor produces after it (App._display, which the headless driver calls without
writing to a terminal). The same is measured with no runs (`keypress_repaint_ms_idle`).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from figure_lines import figure, load_average, machine, median, note, spread, use_repo  # noqa: E402

use_repo()

RUNS = 8
SPEED = 40.0
SAMPLES = 1600  # 40 s at SPEED
PRESSES = 40


def write_plan_config(workdir: Path) -> Path:
    from tests.support.config_writer import streaming_runs_config

    return streaming_runs_config(workdir, runs=RUNS, speed=SPEED, samples=SAMPLES)


async def measure(config_path: Path, *, busy: bool) -> list[float]:
    from console.tui.app import ConsoleApp
    from engine.config.load import load_config

    app = ConsoleApp(load_config(config_path), config_note="bench")
    painted: list[float] = []
    display = app._display

    def timed_display(screen, renderable) -> None:  # noqa: ANN001 - Textual's own signature
        if renderable is not None:
            painted.append(time.perf_counter())
        display(screen, renderable)

    app._display = timed_display  # type: ignore[method-assign]
    out: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        if busy:
            await pilot.press("s")
            while sum(1 for r in app.state.runs.values() if (r.completed or 0) > 0) < RUNS:
                await pilot.pause(0.1)
        await pilot.pause(0.5)
        for i in range(PRESSES):
            t0 = time.perf_counter()
            await pilot.press("down" if i % 2 == 0 else "up")
            deadline = t0 + 2.0
            while not any(t > t0 for t in painted) and time.perf_counter() < deadline:
                await asyncio.sleep(0.001)
            after = [t for t in painted if t > t0]
            if after:
                out.append(1000.0 * (after[0] - t0))
            painted.clear()
            await asyncio.sleep(0.05)  # a person does not press 40 keys a second
        if busy:
            app.orchestrator.cancel_all()
            await app.workers.wait_for_complete([w for w in app.workers if w.group == "plan"])
    return out


def main() -> None:
    note(f"machine: {machine()}; load average before: {load_average()}")
    with tempfile.TemporaryDirectory() as d:
        cfg = write_plan_config(Path(d) / "idle")
        idle = asyncio.run(measure(cfg, busy=False))
    with tempfile.TemporaryDirectory() as d:
        cfg = write_plan_config(Path(d) / "busy")
        busy = asyncio.run(measure(cfg, busy=True))
    note(f"idle: {spread(idle, 'ms')}; with {RUNS} runs streaming: {spread(busy, 'ms')}")
    if busy:
        p95 = statistics.quantiles(busy, n=20)[-1] if len(busy) >= 2 else busy[0]
        note(f"with runs streaming: p95 {p95:.4g} ms, max {max(busy):.4g} ms")
    figure("keypress_repaint_ms_idle", median(idle))
    figure("keypress_repaint_ms", median(busy))


if __name__ == "__main__":
    main()
