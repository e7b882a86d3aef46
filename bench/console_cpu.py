#!/usr/bin/env python3
"""`console_cpu_percent_16_runs`, `console_cpu_percent_64_runs`: the console process's CPU
while 16 (64) runs stream progress and logs, with the engine's own share beside each.

N local nodes each run the bundled harness (the real LoadGen; simulated speed 40 samples/s,
a progress line every 4 samples: 10 stdout lines/s per run, 160 in all for 16) side by side;
the config's poll interval is the default 0.5 s. The console is the real app, headless
(Textual composes every frame; the headless driver only skips writing it to a terminal), at
160x48 with the first run's log on screen.

CPU is the process's own user+system time from /proc/self/stat (all its threads) over a
wall-clock window once all N runs are streaming, as a percentage of one core. The console
process also hosts the engine (the orchestrator polls each run's files), so the same plan is
first measured with the orchestrator alone: `engine_only_cpu_percent_N_runs`. The
difference is what the UI costs. Each phase measures WINDOWS windows of WINDOW_S seconds;
the machine's 1-minute load average is printed with each figure (the cores are shared).

    python bench/console_cpu.py            # 16 and 64 runs
    python bench/console_cpu.py --runs 16  # one size only
    python bench/console_cpu.py --runs 64 --profile out.txt   # cProfile of the console phase
    python bench/console_cpu.py --runs 64 --engine-only --engine-profile out.txt  # the engine's
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from console_runs import stop_plan  # noqa: E402
from figure_lines import figure, load_average, machine, median, note, spread, use_repo  # noqa: E402

use_repo()

SPEED = 40.0
WINDOW_S = 5.0
WINDOWS = 3
TICK = os.sysconf("SC_CLK_TCK")


def samples_for(runs: int) -> int:
    """Long enough that every run still streams through both phases' windows: 64 harnesses
    take longer to start on a shared 2-core machine than 16 do."""
    return int(SPEED * (45 if runs <= 16 else 120))


def cpu_seconds() -> float:
    """User + system CPU of this process (every thread), from /proc/self/stat."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def write_plan_config(workdir: Path, runs: int) -> Path:
    from tests.support.config_writer import streaming_runs_config

    return streaming_runs_config(workdir, runs=runs, speed=SPEED, samples=samples_for(runs))


async def windows(pause) -> tuple[list[float], list[str]]:
    """CPU % of one core over WINDOWS consecutive windows, and the load average after each."""
    out, loads = [], []
    for _ in range(WINDOWS):
        c0, t0 = cpu_seconds(), time.monotonic()
        await pause(WINDOW_S)
        out.append(100.0 * (cpu_seconds() - c0) / (time.monotonic() - t0))
        loads.append(load_average())
    return out, loads


def streaming(runs: dict, n: int) -> bool:
    return len(runs) == n and all((c or 0) > 0 for c in runs.values())


async def engine_only(
    config_path: Path, n: int, profile: Path | None = None
) -> tuple[list[float], list[str], int]:
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
    while not streaming(completed, n):
        await asyncio.sleep(0.1)
    n0 = events[0]
    profiler = start_profile(profile)
    result, loads = await windows(asyncio.sleep)
    if profiler is not None:
        profiler.disable()
        write_profile(profiler, profile)
    rate = int((events[0] - n0) / (WINDOW_S * WINDOWS))
    orch.cancel_all()
    await plan
    await orch.close()
    return result, loads, rate


async def console(
    config_path: Path, n: int, profile: Path | None
) -> tuple[list[float], list[str], int, int]:
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
        while not streaming({k: r.completed for k, r in app.state.runs.items() if r.live}, n):
            await pilot.pause(0.1)
        b0 = batches[0]
        lines0 = sum(len(v) for v in app.state.logs.values())
        profiler = start_profile(profile)
        result, loads = await windows(asyncio.sleep)
        if profiler is not None:
            profiler.disable()
            write_profile(profiler, profile)
        per_s = (batches[0] - b0) / (WINDOW_S * WINDOWS)
        lines = sum(len(v) for v in app.state.logs.values()) - lines0
        await stop_plan(app)
    return result, loads, int(per_s), int(lines / (WINDOW_S * WINDOWS))


def start_profile(path: Path | None) -> object:
    """A running cProfile profiler when a profile is asked for, else None."""
    if path is None:
        return None
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    return profiler


def write_profile(profiler: object, path: Path) -> None:
    """The profile's top functions by own time and by cumulative time, as text."""
    import io
    import pstats

    out = io.StringIO()
    profiler.dump_stats(str(path.with_suffix(".prof")))  # type: ignore[attr-defined]
    stats = pstats.Stats(profiler, stream=out)  # type: ignore[arg-type]
    stats.sort_stats("tottime").print_stats(40)
    stats.sort_stats("cumulative").print_stats(80)
    path.write_text(out.getvalue())


def measure(
    n: int, profile: Path | None, engine_profile: Path | None = None, engine_alone: bool = False
) -> None:
    note(f"{n} runs; load average before: {load_average()}")
    with tempfile.TemporaryDirectory() as d:
        cfg = write_plan_config(Path(d) / "engine", n)
        engine, engine_loads, events_per_s = asyncio.run(engine_only(cfg, n, engine_profile))
    note(
        f"engine alone, {n} runs: {spread(engine, '%')}, {events_per_s} engine events/s; "
        f"load average {', '.join(engine_loads)}"
    )
    if engine_alone:
        figure(f"engine_only_cpu_percent_{n}_runs", median(engine))
        return
    with tempfile.TemporaryDirectory() as d:
        cfg = write_plan_config(Path(d) / "console", n)
        ui, ui_loads, batches_per_s, lines_per_s = asyncio.run(console(cfg, n, profile))
    e, u = median(engine), median(ui)
    note(
        f"console, {n} runs: {spread(ui, '%')}, {batches_per_s} batched messages/s carrying "
        f"about {lines_per_s} log lines/s (bounded per run in memory); load average "
        f"{', '.join(ui_loads)}"
    )
    if e is not None and u is not None:
        note(f"{n} runs: console {u:.3g} % of one core, of which the engine alone {e:.3g} %")
    figure(f"engine_only_cpu_percent_{n}_runs", e)
    figure(f"console_cpu_percent_{n}_runs", u)
    try:
        figure(f"console_cpu_load_average_{n}_runs", float(ui_loads[-1]))
    except (IndexError, ValueError):
        figure(f"console_cpu_load_average_{n}_runs", None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--profile", type=Path, help="cProfile text of the console phase")
    parser.add_argument(
        "--engine-profile", type=Path, help="cProfile text of the engine-alone phase"
    )
    parser.add_argument(
        "--engine-only", action="store_true", help="measure the engine alone (no console phase)"
    )
    args = parser.parse_args()
    note(f"machine: {machine()}")
    for n in args.runs:
        measure(n, args.profile, args.engine_profile, args.engine_only)


if __name__ == "__main__":
    main()
