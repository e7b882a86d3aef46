#!/usr/bin/env python3
"""`keypress_repaint_ms`: from a key press to the next screen update, with runs streaming.

The real app, headless at 160x48, on a plan of RUNS local runs of the bundled harness (the
real LoadGen, simulated speed, a progress line every 4 samples) that stream progress and logs
while we press keys. Each press moves the runs table's cursor (down, then up, ...): the row
highlight moves and the log pane switches to that run's lines, so every press has a visible
effect. The time is from handing the key to the app (Pilot.press) to the first screen update
the compositor produces after it (App._display, which the headless driver calls without
writing to a terminal). The same is measured with no runs (`keypress_repaint_ms_idle`).

`keypress_repaint_ms` is the median with 8 runs streaming (as before); with 64 runs the
figures are `keypress_repaint_ms_64_runs` and `keypress_repaint_ms_p95_64_runs` (the target
is on the p95: a press that lands on a table repaint or a chart rebuild waits for it). The
machine's 1-minute load average is printed beside each figure.

    python bench/keypress_latency.py             # idle, 8 and 64 runs
    python bench/keypress_latency.py --runs 64   # idle and 64 runs only
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from console_runs import stop_plan  # noqa: E402
from figure_lines import figure, load_average, machine, median, note, spread, use_repo  # noqa: E402

use_repo()

SPEED = 40.0
PRESSES = 40


def samples_for(runs: int) -> int:
    """40 s at SPEED for 8 runs; 64 harnesses take longer to start on a shared machine."""
    return int(SPEED * (40 if runs <= 16 else 120))


def write_plan_config(workdir: Path, runs: int) -> Path:
    from tests.support.config_writer import streaming_runs_config

    return streaming_runs_config(workdir, runs=runs, speed=SPEED, samples=samples_for(runs))


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


async def measure(config_path: Path, *, busy: int) -> list[float]:
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
            while sum(1 for r in app.state.runs.values() if (r.completed or 0) > 0) < busy:
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
            await stop_plan(app)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[8, 64])
    args = parser.parse_args()
    note(f"machine: {machine()}; load average before: {load_average()}")
    with tempfile.TemporaryDirectory() as d:
        cfg = write_plan_config(Path(d) / "idle", 1)
        idle = asyncio.run(measure(cfg, busy=0))
    note(f"idle: {spread(idle, 'ms')}; load average {load_average()}")
    figure("keypress_repaint_ms_idle", median(idle))
    for n in args.runs:
        with tempfile.TemporaryDirectory() as d:
            cfg = write_plan_config(Path(d) / "busy", n)
            busy = asyncio.run(measure(cfg, busy=n))
        high = p95(busy)
        note(
            f"with {n} runs streaming: {spread(busy, 'ms')}"
            + (f", p95 {high:.4g} ms, max {max(busy):.4g} ms" if busy else "")
            + f"; load average {load_average()}"
        )
        suffix = "" if n == 8 else f"_{n}_runs"
        figure(f"keypress_repaint_ms{suffix}", median(busy))
        figure(f"keypress_repaint_ms_p95{suffix}", high)


if __name__ == "__main__":
    main()
