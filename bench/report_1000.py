"""Time `mlconsole report` over 1,000 recorded runs (target: <= 3 s on two cores).

Creates 1,000 synthetic run summaries (schema "mlconsole.run_summary" v1, see
engine/results/store.py)
and 20 group summaries in a temp dir, then times `mlconsole report RESULTS_DIR` end to end in
a fresh process (imports included, as a user sees it) and `rebuild_reports` in this process.
The summaries are synthetic: the figure measured is report speed, not benchmark speed.

    .venv/bin/python bench/report_1000.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import figures  # noqa: E402
from engine.harness.demo_facts import DEMO_DATASET_SIZE  # noqa: E402
from engine.results.schema import (  # noqa: E402
    GROUP_SUMMARY_FILE,
    GROUP_SUMMARY_SCHEMA_ID,
    RUN_SUMMARY_FILE,
    RUN_SUMMARY_SCHEMA_ID,
    SCHEMA_VERSION,
)
from engine.results.store import TELEMETRY, write_json  # noqa: E402

NODES = {"slow": 10.0, "fast": 21.0}
SAMPLES = (40, 80, 160, 320)
HEADER = "ts,node,gpu,name,utilization_pct,memory_used_mib,memory_total_mib,temperature_c,power_w,sm_clock_mhz\n"  # noqa: E501


def run_summary(i: int, node: str, n: int, t0: float, group_id: str | None = None) -> dict:
    speed = NODES[node]
    duration = 1.5 + n / speed
    wall = figures.wall_throughput(n, duration)
    util = i % 2 == 0 and i % 50 == 0
    return {
        "schema": RUN_SUMMARY_SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "mlconsole_version": "0.1.0",
        "run_id": f"r{i}-{node}-{n}",
        "run_dir": f"{node}_{i:05d}",
        "kind": "run",
        "node": node,
        "group_id": group_id,
        "stage": "sweep",
        "label": f"{node}, {n} samples",
        "benchmark": "demo-llm",
        "scenario": "Offline",
        "mode": "performance",
        "dataset_size": DEMO_DATASET_SIZE,
        "simulated": True,
        "samples_requested": n,
        "shard_start": 0,
        "samples_processed": n,
        "wall": {
            "start": None,
            "end": None,
            "start_unix": t0,
            "end_unix": t0 + duration,
            "duration_s": duration,
        },
        "loadgen": {
            "complete": True,
            "validity": "VALID" if i % 37 else "INVALID",
            "validity_reasons": [] if i % 37 else ["Min duration satisfied : NO"],
            "metric": {
                "name": "Samples per second",
                "value": speed * (1 + (i % 7) / 100),
                "unit": "samples/s",
                "key": "result_samples_per_second",
            },
            "token_metric": None,
            "generated_total": n,
            "errors": 0,
            "warnings": 0,
            "problems": [],
        },
        "wall_throughput": {"value": wall, "unit": "samples/s"},
        "exit": {"state": "succeeded", "code": 0, "detail": ""},
        "host": {"os": "Linux", "python": "3.11", "loadgen_version": "6.0.17", "gpus": []},
        "telemetry": {
            "state": "ok" if util else "no-driver",
            "detail": "" if util else "NVML Shared Library Not Found",
            "samples": 30 if util else 0,  # the rows write_run puts in telemetry.csv
            "gpus": [
                {
                    "gpu": 0,
                    "name": "NVIDIA A30",
                    "samples": 30,
                    "util_mean": 90.0,
                    "util_p95": 98.0,
                    "util_max": 99.0,
                    "mem_peak_mib": 20000.0,
                }
            ]
            if util
            else [],
        },
        "files": ["mlperf_log_summary.txt", RUN_SUMMARY_FILE, TELEMETRY],
    }


def build(root: Path, runs: int = 1000, groups: int = 20) -> None:
    t = 1_700_000_000.0
    made = 0
    for i in range(runs - 2 * groups):
        node = "slow" if i % 2 else "fast"
        s = run_summary(i, node, SAMPLES[(i // 2) % len(SAMPLES)], t)
        write_run(root, s, telemetry=i % 50 == 0)
        t += s["wall"]["duration_s"] + 1
        made += 1
    for g in range(groups):
        shards = [run_summary(made + 2 * g + k, node, 160, t, f"g{g}") for k, node in
                  enumerate(NODES)]  # fmt: skip
        for s in shards:
            write_run(root, s, telemetry=False)
        starts = [s["wall"]["start_unix"] for s in shards]
        ends = [s["wall"]["end_unix"] for s in shards]
        span = figures.makespan(starts, ends)
        combined = figures.combined_throughput(320, span)
        singles = dict(NODES)
        gdir = root / f"group_pair_{g:03d}"
        gdir.mkdir()
        write_json(
            gdir / GROUP_SUMMARY_FILE,
            {
                "schema": GROUP_SUMMARY_SCHEMA_ID,
                "schema_version": SCHEMA_VERSION,
                "group_id": f"g{g}",
                "name": f"pair-{g}",
                "group_dir": gdir.name,
                "benchmark": "demo-llm",
                "scenario": "Offline",
                "mode": "performance",
                "dataset_size": DEMO_DATASET_SIZE,
                "nodes": list(NODES),
                "split": "equal",
                "split_source": "equal split",
                "simulated": True,
                "shards": [
                    {
                        "node": s["node"],
                        "run_id": s["run_id"],
                        "run_dir": s["run_dir"],
                        "shard_start": 160 * k,
                        "samples_requested": 160,
                        "samples_processed": 160,
                        "duration_s": s["wall"]["duration_s"],
                        "start_unix": s["wall"]["start_unix"],
                        "end_unix": s["wall"]["end_unix"],
                        "state": "succeeded",
                        "validity": "VALID",
                        "metric": s["loadgen"]["metric"],
                        "wall_throughput": s["wall_throughput"]["value"],
                    }
                    for k, s in enumerate(shards)
                ],
                "total_samples_requested": 320,
                "samples_processed": 320,
                "start_unix": min(starts),
                "end_unix": max(ends),
                "makespan_s": span,
                "combined_throughput": combined,
                "sum_loadgen_metric": None,
                "sequential_s": sum(s["wall"]["duration_s"] for s in shards),
                "speedup": figures.sequential_speedup(
                    [s["wall"]["duration_s"] for s in shards], span
                ),
                "single_run_throughputs": singles,
                "single_run_sources": {n: None for n in NODES},
                "scaling_efficiency": figures.scaling_efficiency(combined, singles.values()),
            },
        )
        t = max(ends) + 1


def write_run(root: Path, s: dict, telemetry: bool) -> None:
    d = root / s["run_dir"]
    d.mkdir()
    write_json(d / RUN_SUMMARY_FILE, s)
    rows = ""
    if telemetry:
        t0 = s["wall"]["start_unix"]
        rows = "".join(
            f"{t0 + k},{s['node']},0,NVIDIA A30,{80 + k % 20},20000,24576,60,150,1440\n"
            for k in range(30)
        )
    (d / TELEMETRY).write_text(HEADER + rows)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        results, reports = Path(tmp) / "results", Path(tmp) / "reports"
        results.mkdir()
        build(results)
        cli = [str(Path(sys.executable).parent / "mlconsole"), "report", str(results)]
        cli += ["--reports-dir", str(reports)]
        timings = []
        for _ in range(2):
            start = time.perf_counter()
            subprocess.run(cli, check=True, stdout=subprocess.DEVNULL)
            timings.append(time.perf_counter() - start)
        from engine.analysis.report.rebuild import rebuild_reports

        start = time.perf_counter()
        paths = rebuild_reports(results, reports)
        in_process = time.perf_counter() - start
        runs = sum(1 for p in paths if p.name.endswith("_comprehensive_report.md"))
        print(f"runs: {runs}")
        print(f"report_1000_runs_s: {timings[0]:.2f}")
        print(f"report_1000_runs_again_s: {timings[1]:.2f}")
        print(f"rebuild_reports_in_process_s: {in_process:.2f}")


if __name__ == "__main__":
    main()
