#!/usr/bin/env python3
"""`overhead_ratio`: what the console adds to one run.

Console: `Orchestrator.run_plan()` on a config with one local run of the bundled harness
(real LoadGen, simulated node), timed from the call to its return (the plan's outcome),
nothing subtracted: the nodes' preflight and settings probe, launch through the detached
wrapper, following, noticing the exit, fetching, parsing, the summary and the regression
check. The reports (every run's, the charts, the pipeline report) come after the outcome
(engine/run/reports_writer.py); the time until they are written (`close()`'s return, as
`mlconsole --batch` waits for it before it exits) is printed beside the ratio as
`overhead_ratio_to_reports_written`, so neither figure hides the other. Direct: the very same
rendered harness command (`render_run`, same arguments, a fresh output dir on the same file
system, stdout and stderr to files, as the wrapper does) run with `subprocess`, timed from
start to exit.

The run is about 20 s of LoadGen time so that the ratio means something. Console and direct
runs alternate (so both see the same background load) and repeat; the ratio is the median of
the pairs' ratios. Each console run is a fresh interpreter, as `mlconsole --batch` is, so the
imports the report step needs (charts) are paid every time, as they are for a user.

`--profile` instead runs one console run under cProfile, then profiles its report steps
(which run in worker threads) cold in a fresh interpreter: where the console's time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from figure_lines import figure, load_average, machine, median, note, spread, use_repo

SPEED = 100  # simulated samples/s
SAMPLES = 2000  # 20 s at SPEED
PAIRS = 3
TARGET = 1.01


def demo_table() -> str:
    """The tests' `[benchmarks.demo]` (imported once `use_repo()` made tests importable)."""
    from tests.support.config_writer import demo_benchmark

    return "\n".join(demo_benchmark(user_conf='"demo.Offline.min_duration = 0"'))


def config_text(root: Path, samples: int) -> str:
    """One local simulated node, one run; the runner's default poll interval (0.5 s)."""
    return f"""
[settings]
results_dir = "{root / "results"}"
reports_dir = "{root / "reports"}"

[nodes.node]
transport = "local"
workdir = "{root / "node"}"
simulated = true
vars = {{ speed = {SPEED} }}

{demo_table()}

[[plan]]
kind = "run"
node = "node"
benchmark = "demo"
samples = {samples}
"""


def load(root: Path, samples: int):  # noqa: ANN201 - engine.model.Config, imported lazily
    from engine.config.load import parse_config

    root.mkdir(parents=True, exist_ok=True)
    path = root / "bench.toml"
    path.write_text(config_text(root, samples))
    return parse_config(path.read_text(), str(path))


SEGMENTS = (
    ("launch", "call", "run_start", "run_plan called -> the wrapper's start time"),
    ("run", "run_start", "run_end", "the harness under the detached wrapper"),
    ("notice_exit", "run_end", "collecting", "the wrapper's end time -> the poll that sees it"),
    ("collect", "collecting", "summarised", "fetch, read_run_logs, summary"),
    ("judge", "summarised", "run_finished", "the regression check, RunFinished"),
    ("outcome", "run_finished", "plan_finished", "RunFinished -> PlanFinished"),
    ("return", "plan_finished", "returned", "PlanFinished -> run_plan's return (the outcome)"),
    ("reports", "returned", "reports_written", "after the outcome: the reports writer"),
)


class Timeline:
    """Wall-clock marks (time.time(), the clock the wrapper's `date` also reads here) from the
    orchestrator's own events: where a console run's time goes."""

    def __init__(self) -> None:
        self.marks: dict[str, float] = {}

    def mark(self, name: str, t: float | None = None) -> None:
        self.marks.setdefault(name, time.time() if t is None else t)

    def __call__(self, event: object) -> None:
        from engine.events import PlanFinished, ReportsWritten, RunFinished, RunStateChanged
        from engine.model import RunState

        if isinstance(event, RunStateChanged):
            if event.state == RunState.COLLECTING:
                self.mark("collecting")
            elif event.state.terminal:
                self.mark("summarised")
        elif isinstance(event, RunFinished):
            self.mark("run_finished")
        elif isinstance(event, PlanFinished):
            self.mark("plan_finished")
        elif isinstance(event, ReportsWritten):
            self.mark("reports_written")

    def segments(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for name, a, b, _ in SEGMENTS:
            ta, tb = self.marks.get(a), self.marks.get(b)
            out[name] = None if ta is None or tb is None else tb - ta
        return out


async def console_once(root: Path, samples: int) -> tuple[float, float, Timeline, dict]:
    """(seconds to the outcome: run_plan's return; seconds to the reports written: close()'s
    return; the timeline of the run; its orchestrator_summary.json)."""
    from engine.run.orchestrator import Orchestrator

    orch = Orchestrator(load(root, samples))
    timeline = Timeline()
    orch.bus.add_listener(timeline)
    timeline.mark("call")
    t0 = time.perf_counter()
    outcome = await orch.run_plan()
    elapsed = time.perf_counter() - t0
    timeline.mark("returned")
    await orch.close()  # waits for the reports writer, as `mlconsole --batch` does
    to_reports = time.perf_counter() - t0
    if not outcome.ok:
        raise SystemExit(f"overhead: the console run failed: {outcome.failures}")
    (summary_path,) = (root / "results").glob("*/orchestrator_summary.json")
    summary = json.loads(summary_path.read_text())
    timeline.mark("run_start", summary["wall"]["start_unix"])
    timeline.mark("run_end", summary["wall"]["end_unix"])
    return elapsed, to_reports, timeline, summary


def direct_once(root: Path, samples: int) -> float:
    """The same rendered command, run straight from a subprocess."""
    from engine.run.templates import render_run

    config = load(root, samples)
    (spec,) = config.plan.all_runs()
    out = root / "direct"
    out.mkdir(parents=True)
    rendered = render_run(
        config.nodes[spec.node],
        config.benchmarks[spec.benchmark],
        spec,
        output_dir=str(out),
        user_conf_path=str(out / "user.conf"),
    )
    (out / "user.conf").write_text(rendered.user_conf or "")
    with open(out / "stdout.log", "wb") as so, open(out / "stderr.log", "wb") as se:
        t0 = time.perf_counter()
        rc = subprocess.run(
            ["sh", "-c", rendered.command], cwd=out, stdin=subprocess.DEVNULL, stdout=so, stderr=se
        ).returncode
        elapsed = time.perf_counter() - t0
    if rc != 0:
        raise SystemExit(f"overhead: the direct run exited with {rc}; see {out}")
    return elapsed


def console_in_fresh_process(root: Path, samples: int) -> tuple[float, float, dict, int]:
    """A console run in a new interpreter, as `mlconsole --batch` would be: nothing the
    previous runs imported is warm. (seconds to the outcome, seconds to the reports written,
    timeline segments, samples)."""
    out = subprocess.run(
        [sys.executable, __file__, "--console-once", str(root), "--samples", str(samples)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise SystemExit(f"overhead: the console run failed: {out.stderr.strip()[-2000:]}")
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return data["elapsed"], data["to_reports"], data["segments"], data["samples"]


def console_once_main(root: Path, samples: int) -> int:
    elapsed, to_reports, timeline, summary = asyncio.run(console_once(root, samples))
    data = {
        "elapsed": elapsed,
        "to_reports": to_reports,
        "segments": timeline.segments(),
        "samples": summary["samples_processed"],
    }
    print(json.dumps(data))
    return 0


def describe(segments: dict) -> str:
    return ", ".join(f"{k} {'?' if v is None else f'{v:.3f}'} s" for k, v in segments.items())


def profile(samples: int) -> int:
    """One console run under cProfile (the main thread: engine and runner), then the report
    steps, which the orchestrator runs in worker threads where cProfile does not see them,
    profiled cold in a fresh interpreter on the same results."""
    import cProfile
    import pstats

    with tempfile.TemporaryDirectory(prefix="mlconsole-bench-overhead-") as tmp:
        prof = cProfile.Profile()
        prof.enable()
        elapsed, to_reports, timeline, _ = asyncio.run(console_once(Path(tmp) / "p", samples))
        prof.disable()
        print(
            f"console: {elapsed:.3f} s to the outcome, {to_reports:.3f} s to the reports "
            "written; " + describe(timeline.segments())
        )
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        print("\n== the report steps, cold, in a fresh interpreter")
        subprocess.run(
            [sys.executable, __file__, "--profile-reports", str(Path(tmp) / "p")], check=False
        )
    return 0


def profile_reports(root: Path) -> int:
    import cProfile
    import pstats

    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    from engine.analysis.report.rebuild import rebuild_reports, write_run_report

    (run_dir,) = [p.parent for p in (root / "results").glob("*/orchestrator_summary.json")]
    write_run_report(run_dir)
    t1 = time.perf_counter()
    rebuild_reports(root / "results", root / "reports-again")
    prof.disable()
    t2 = time.perf_counter()
    print(f"write_run_report (with its imports) {t1 - t0:.3f} s, rebuild_reports {t2 - t1:.3f} s")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=SAMPLES)
    ap.add_argument("--pairs", type=int, default=PAIRS)
    ap.add_argument("--profile", action="store_true", help="profile one console run instead")
    ap.add_argument("--console-once", metavar="DIR", help=argparse.SUPPRESS)
    ap.add_argument("--profile-reports", metavar="DIR", help=argparse.SUPPRESS)
    ns = ap.parse_args()
    use_repo()
    if ns.console_once:
        return console_once_main(Path(ns.console_once), ns.samples)
    if ns.profile_reports:
        return profile_reports(Path(ns.profile_reports))
    if ns.profile:
        return profile(ns.samples)
    print(f"machine: {machine()}")
    ratios, consoles, directs, with_reports, to_reports_all = [], [], [], [], []
    parts: dict[str, list[float]] = {name: [] for name, *_ in SEGMENTS}
    with tempfile.TemporaryDirectory(prefix="mlconsole-bench-overhead-") as tmp:
        for i in range(ns.pairs):
            direct = direct_once(Path(tmp) / f"d{i}", ns.samples)
            console, to_reports, segments, samples = console_in_fresh_process(
                Path(tmp) / f"c{i}", ns.samples
            )
            ratios.append(console / direct)
            with_reports.append(to_reports / direct)
            consoles.append(console)
            to_reports_all.append(to_reports)
            directs.append(direct)
            for name, value in segments.items():
                if value is not None:
                    parts[name].append(value)
            note(
                f"pair {i + 1}: console to the outcome {console:.3f} s (to the reports written "
                f"{to_reports:.3f} s), direct {direct:.3f} s, ratio {console / direct:.4f} "
                f"({to_reports / direct:.4f}); {samples} samples; load average {load_average()}"
            )
            note(f"pair {i + 1} console timeline: {describe(segments)}")
    figure("overhead_ratio", median(ratios))
    note(
        f"console's time to the plan's outcome (run_plan's return) / direct: {spread(ratios)}; "
        f"target <= {TARGET}"
    )
    figure("overhead_ratio_to_reports_written", median(with_reports))
    note(
        "console's time until every report is written (close()'s return, when "
        f"`mlconsole --batch` may exit) / direct: {spread(with_reports)}; no target"
    )
    for name, _, _, what in SEGMENTS:
        figure(f"overhead_{name}_s", median(parts[name]))
        note(f"{what}: {spread(parts[name], 's')}")
    figure("overhead_console_s", median(consoles))
    figure("overhead_console_to_reports_written_s", median(to_reports_all))
    figure("overhead_direct_s", median(directs))
    note(
        f"console {spread(consoles, 's')}; direct {spread(directs, 's')}; "
        f"{ns.samples} samples at {SPEED} samples/s, poll interval 0.5 s (the default); "
        "each console run in a fresh interpreter (cold imports, as `mlconsole --batch`)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
