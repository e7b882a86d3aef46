#!/usr/bin/env python3
"""A long run's logs, read back: `parse_13368_s` and `trace_follow_cpu_s_per_run_s`.

The bundled harness (real LoadGen, simulated node) runs 13,368 samples (the CNN/DailyMail
dataset's size) with LoadGen's trace on and every sample copied into the accuracy log, at a
high simulated speed so it takes a few seconds. While it runs, this process follows the trace
exactly as the runner does for live progress (`LineTail` over `LocalTransport`, fed to
`TraceProgress`, polled every 0.5 s); its CPU time over the run's wall time is
`trace_follow_cpu_s_per_run_s` (the harness's own CPU is another process and is not counted).
Afterwards `read_run_logs` reads the run dir and one more `TraceProgress` pass reads the whole
trace from byte 0: `parse_13368_s` is the two together, median of three (the file cache is warm,
as it is when the runner collects a run it has just fetched).

Repeated on REPEATS separate runs; every repetition is printed.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from figure_lines import figure, load_average, machine, median, note, spread, use_repo

SAMPLES = 13_368
SPEED = 4000  # simulated samples/s: about 3.3 s of LoadGen time
POLL_S = 0.5  # the runner's default poll interval (Settings.poll_interval_s)
REPEATS = 2
PARSES_PER_RUN = 3


def harness_argv(out: Path) -> list[str]:
    return [
        sys.executable, "-m", "engine.harness.demo",
        "--scenario", "Offline", "--mode", "performance",
        "--total-sample-count", str(SAMPLES), "--speed", str(SPEED),
        "--trace", "--accuracy-log-probability", "1",
        "--output-dir", str(out),
    ]  # fmt: skip


async def follow_live(out: Path) -> tuple[float, float, int]:
    """Start the harness and follow its trace until it exits, as the runner does.
    Returns (run wall seconds, follower CPU seconds, samples counted)."""
    from engine.loadgen.progress import TraceProgress
    from engine.model import NodeSpec
    from engine.transport.local import LocalTransport
    from engine.transport.tail import LineTail

    transport = LocalTransport(NodeSpec(name="bench"))
    tail = LineTail(str(out / "mlperf_log_trace.json"))
    progress = TraceProgress()
    stdout = open(out / "stdout.log", "wb")  # noqa: SIM115 - closed below, after the run
    started = time.perf_counter()
    proc = subprocess.Popen(
        harness_argv(out), stdout=stdout, stderr=subprocess.STDOUT, cwd=out.parent
    )
    cpu0 = time.process_time()
    while proc.poll() is None:
        progress.feed(await tail.poll(transport))
        await asyncio.sleep(POLL_S)
    wall = time.perf_counter() - started
    progress.feed(await tail.poll(transport, final=True))
    cpu = time.process_time() - cpu0
    stdout.close()
    if proc.returncode != 0:
        raise SystemExit(f"parse_long_run: the harness exited with {proc.returncode}; see {out}")
    return wall, cpu, progress.completed


async def parse_once(out: Path) -> tuple[float, float, int, int | None]:
    """(read_run_logs seconds, full trace pass seconds, trace samples, samples processed)."""
    from engine.loadgen.parse import read_run_logs
    from engine.loadgen.progress import TraceProgress
    from engine.model import NodeSpec
    from engine.transport.local import LocalTransport
    from engine.transport.tail import LineTail

    t0 = time.perf_counter()
    logs = read_run_logs(out)
    t1 = time.perf_counter()
    progress = TraceProgress()
    tail = LineTail(str(out / "mlperf_log_trace.json"))
    progress.feed(await tail.poll(LocalTransport(NodeSpec(name="bench")), final=True))
    t2 = time.perf_counter()
    if not logs.complete:
        raise SystemExit(f"parse_long_run: logs in {out} incomplete: {logs.incomplete_reasons}")
    return t1 - t0, t2 - t1, progress.completed, logs.samples_processed


def sizes_mb(out: Path) -> str:
    return ", ".join(
        f"{p.name} {p.stat().st_size / 1e6:.2f} MB" for p in sorted(out.glob("mlperf_log_*"))
    )


async def main_async() -> int:
    print(f"machine: {machine()}")
    totals, reads, traces, follow_ratios = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="mlconsole-bench-parse-") as tmp:
        for i in range(REPEATS):
            out = Path(tmp) / f"run{i}"
            out.mkdir()
            wall, cpu, live_count = await follow_live(out)
            follow_ratios.append(cpu / wall)
            note(
                f"run {i + 1}: {SAMPLES} samples in {wall:.2f} s wall; following the trace "
                f"live cost {cpu:.3f} s CPU ({cpu / wall:.4f} s per run second), counted "
                f"{live_count} samples; load average {load_average()}"
            )
            parses = [await parse_once(out) for _ in range(PARSES_PER_RUN)]
            parses.sort(key=lambda p: p[0] + p[1])
            read_s, trace_s, counted, processed = parses[len(parses) // 2]
            if counted != SAMPLES or processed != SAMPLES or live_count != SAMPLES:
                note(
                    f"COUNT MISMATCH: trace pass {counted}, live {live_count}, "
                    f"read_run_logs {processed}, expected {SAMPLES}"
                )
            reads.append(read_s)
            traces.append(trace_s)
            totals.append(read_s + trace_s)
            note(
                f"run {i + 1}: parse {read_s + trace_s:.3f} s = read_run_logs {read_s:.3f} s "
                f"+ trace pass {trace_s:.3f} s (median of {PARSES_PER_RUN}); {sizes_mb(out)}"
            )
    figure("parse_13368_s", median(totals))
    note(
        f"parse spread: {spread(totals, 's')}; read_run_logs {spread(reads, 's')}, "
        f"trace pass {spread(traces, 's')}"
    )
    figure("trace_follow_cpu_s_per_run_s", median(follow_ratios))
    note(
        f"follow spread: {spread(follow_ratios)}; the trace only, polled every {POLL_S} s, "
        f"at {SPEED} samples/s (a fast node: the cost grows with the trace's write rate)"
    )
    return 0


def main() -> int:
    use_repo()
    return asyncio.run(main_async())


if __name__ == "__main__":
    sys.exit(main())
