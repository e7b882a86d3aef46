"""Results dirs for the analysis, chart and report tests, written the way the orchestrator
writes them: run dirs made by the real `ResultsStore`, typed `RunSummary`s written by the one
writer in `engine.results.schema`, group summaries by the orchestrator's own
`engine.results.summary.build_group_summary`, telemetry through the real `TelemetryRecorder`
and `engine.telemetry.stats.summarize`.

`standard_results(root)` builds the scenario the tests share:
- nodes "slow" and "fast", 2.1x apart by wall throughput and by LoadGen metric, each swept over
  40, 80 and 160 samples (demo-llm, Offline, performance, dataset 13,368 samples);
- a parallel group "pair-equal" over both nodes with an equal split (160 + 160);
- the seed's JW2 run: Server, INVALID, 200 samples requested, 100 processed, 722.6 s;
- a run on "mid" whose summary has no LoadGen metric;
- a failed run on "fast" (no LoadGen logs);
- GPU telemetry on fast's 160-sample run only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import figures
from engine.harness.demo_facts import DEMO_DATASET_SIZE
from engine.model import Benchmark, GpuSample, RunState
from engine.results.group_schema import GroupSummary
from engine.results.node_records import HostGpu, HostRecord, TelemetryRecord
from engine.results.schema import ExitRecord, LoadgenRecord, Metric, RunSummary, WallClock
from engine.results.store import TELEMETRY, ResultsStore, write_group_summary, write_run_summary
from engine.results.summary import build_group_summary

DATASET = DEMO_DATASET_SIZE
SAMPLES = (40, 80, 160)
SLOW_DURATION = {40: 5.0, 80: 9.0, 160: 14.0}  # wall: 280 samples / 28 s = 10 samples/s
SLOW_METRIC = {40: 12.0, 80: 12.5, 160: 13.0}
RATIO = 2.1
_KEEP = object()


@dataclass
class ResultsBuilder:
    root: Path
    clock: float = 1_700_000_000.0
    store: ResultsStore = field(init=False)

    def __post_init__(self) -> None:
        self.store = ResultsStore(self.root)

    def run(
        self,
        node: str,
        samples: int,
        *,
        duration: float | None,
        processed: Any = _KEEP,
        metric: tuple[str, float, str] | None = ("Samples per second", 1.0, "samples/s"),
        token: tuple[str, float, str] | None = None,
        validity: str | None = "VALID",
        reasons: Sequence[str] = (),
        state: RunState = RunState.SUCCEEDED,
        code: int | None = 0,
        detail: str = "",
        benchmark: str = "demo-llm",
        scenario: str = "Offline",
        dataset_size: int | None = DATASET,
        group_id: str | None = None,
        shard_start: int = 0,
        wall: Any = _KEEP,
        complete: bool = True,
        problems: Sequence[str] = (),
        telemetry: Sequence[float] | None = None,
        simulated: bool = True,
        start: float | None = None,
        run_id: str | None = None,
    ) -> RunSummary:
        """Write one run dir and its summary; returns the summary. `processed` defaults to
        `samples`; `wall` defaults to figures.wall_throughput (None writes null);
        `telemetry` is a list of GPU utilization readings, one a second."""
        t0 = self.clock if start is None else start
        end = None if duration is None else t0 + duration
        self.clock = (end or t0) + 10
        processed = samples if processed is _KEEP else processed
        run_dir = self.store.new_run_dir(node, t0)
        wall_value = figures.wall_throughput(processed, duration) if wall is _KEEP else wall
        tel: dict[str, Any] = {"state": "no-driver", "detail": "NVML Shared Library Not Found"}
        tel |= {"samples": 0, "gpus": []}
        files = ["mlperf_log_summary.txt", "orchestrator_summary.json"]
        if telemetry is not None:
            from engine.telemetry.record import TelemetryRecorder
            from engine.telemetry.stats import summarize

            rows = [
                GpuSample(
                    ts=t0 + i,
                    node=node,
                    gpu=0,
                    utilization_pct=u,
                    memory_used_mib=20000.0,
                    memory_total_mib=24576.0,
                    name="NVIDIA A30",
                )  # fmt: skip
                for i, u in enumerate(telemetry)
            ]
            with TelemetryRecorder(run_dir / TELEMETRY) as rec:
                rec.write(rows)
            tel = summarize(rows)
            files.append(TELEMETRY)
        summary = RunSummary(
            run_id=run_id or f"{node}-{samples}-{run_dir.name}",
            run_dir=run_dir.name,
            node=node,
            group_id=group_id,
            stage="sweep" if group_id is None else group_id,
            label=f"{node}, {samples} samples",
            benchmark=benchmark,
            scenario=scenario,
            mode="performance",
            dataset_size=dataset_size,
            simulated=simulated,
            samples_requested=samples,
            shard_start=shard_start,
            samples_processed=processed,
            wall=WallClock(
                start="2023-11-14T22:13:20Z",
                end=None if end is None else "2023-11-14T22:13:25Z",
                start_unix=t0,
                end_unix=end,
                duration_s=duration,
            ),
            loadgen=LoadgenRecord(
                complete=complete,
                validity=validity,
                validity_reasons=tuple(reasons),
                metric=_metric(metric),
                token_metric=_metric(token),
                generated_total=processed,
                errors=0,
                warnings=0,
                problems=tuple(problems),
            ),
            wall_throughput=wall_value,
            exit=ExitRecord(state, code, detail),
            host=HostRecord("Linux", "3.11.9", "6.0.17", "ok", None, (HostGpu(0, "NVIDIA A30"),)),
            telemetry=TelemetryRecord.from_json(tel),
            files=tuple(sorted(files)),
            mlconsole_version="0.1.0",
        )
        write_run_summary(run_dir, summary)
        return summary

    def group(
        self,
        name: str,
        shards: Sequence[RunSummary],
        singles: Mapping[str, tuple[float | None, str | None]],
        *,
        split: str = "equal",
    ) -> GroupSummary:
        """A group dir whose summary the orchestrator's own builder computes from the shards'
        run summaries."""
        nodes = [str(s.node) for s in shards]
        group_dir = self.store.new_group_dir(name, shards[0].wall.start_unix)
        summary = build_group_summary(
            group_id=str(shards[0].group_id),
            name=name,
            group_dir_name=group_dir.name,
            benchmark=Benchmark(name="demo-llm", command="true", dataset_size=DATASET),
            scenario="Offline",
            mode="performance",
            nodes=nodes,
            split=split,
            split_source="equal split",
            simulated=True,
            total_samples=sum(int(s.samples_requested or 0) for s in shards),
            shards=shards,
            singles=singles,
        )
        write_group_summary(group_dir, summary)
        return summary


def _metric(m: tuple[str, float, str] | None) -> Metric | None:
    if m is None:
        return None
    return Metric(m[0], m[1], m[2], "result_samples_per_second")


@dataclass
class Standard:
    """The standard scenario's summaries, by role."""

    slow: dict[int, RunSummary]
    fast: dict[int, RunSummary]
    group: GroupSummary
    shards: list[RunSummary]
    seed: RunSummary
    no_metric: RunSummary
    failed: RunSummary

    def all_runs(self) -> list[RunSummary]:
        return [
            *self.slow.values(),
            *self.fast.values(),
            *self.shards,
            self.seed,
            self.no_metric,
            self.failed,
        ]


def standard_results(root: Path) -> Standard:
    b = ResultsBuilder(root)
    slow, fast = {}, {}
    for n in SAMPLES:
        slow[n] = b.run("slow", n, duration=SLOW_DURATION[n],
                        metric=("Samples per second", SLOW_METRIC[n], "samples/s"))  # fmt: skip
        fast[n] = b.run(
            "fast",
            n,
            duration=SLOW_DURATION[n] / RATIO,
            metric=("Samples per second", SLOW_METRIC[n] * RATIO, "samples/s"),
            telemetry=[88.0, 92.0, 97.0, 99.0] if n == 160 else None,
        )
    t0 = b.clock
    shards = [
        b.run(
            "slow",
            160,
            duration=16.0,
            group_id="g1",
            start=t0,
            metric=("Samples per second", 12.8, "samples/s"),
        ),  # fmt: skip
        b.run(
            "fast",
            160,
            duration=16.0 / RATIO,
            group_id="g1",
            shard_start=160,
            start=t0 + 0.5,
            metric=("Samples per second", 26.9, "samples/s"),
        ),  # fmt: skip
    ]
    singles = {
        "slow": (slow[160].wall_throughput, slow[160].run_dir),
        "fast": (fast[160].wall_throughput, fast[160].run_dir),
    }
    b.clock = t0 + 30
    group = b.group("pair-equal", shards, singles)
    seed = b.run(
        "slow",
        200,
        processed=100,
        duration=722.6,
        benchmark="llama3.1-8b",
        scenario="Server",
        metric=("Completed samples per second", 0.16, "samples/s"),
        token=("Completed tokens per second", 20.49, "tokens/s"),
        validity="INVALID",
        reasons=[
            "Minimum duration not met: the run was shorter than min_duration (1000 ms).",
            "Early stopping not satisfied: Run unsuccessful. Processed 100 queries.",
        ],
        state=RunState.HARNESS_ERROR_AFTER_COMPLETE,
        code=1,
        detail="AttributeError: 'SUT' object has no attribute 'ft_response_thread'",
        simulated=False,
    )
    no_metric = b.run(
        "mid",
        60,
        duration=4.0,
        metric=None,
        validity=None,
        complete=False,
        problems=["mlperf_log_summary.txt: no headline metric line"],
    )
    failed = b.run(
        "fast",
        80,
        duration=1.2,
        processed=None,
        metric=None,
        validity=None,
        complete=False,
        problems=["no LoadGen logs were collected"],
        state=RunState.FAILED,
        code=1,
        detail="harness exited 1 before LoadGen wrote a summary",
    )
    return Standard(slow, fast, group, shards, seed, no_metric, failed)


def ended_summary(exit: ExitRecord, **fields: Any) -> RunSummary:
    """The summary of run r1 on node slow (demo, Offline, performance, no run dir) that ended
    as `exit`: for the console's pure parts, which read a summary and nothing else. `fields`
    set the rest (samples_requested, ...)."""
    return RunSummary(
        run_id="r1", run_dir=None, node="slow", benchmark="demo", scenario="Offline",
        mode="performance", exit=exit, **fields,
    )  # fmt: skip
