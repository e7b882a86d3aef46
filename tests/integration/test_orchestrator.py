"""The orchestrator end to end on local nodes, with the real LoadGen driving the bundled
harness (simulated node speeds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import figures
from engine.config.load import load_config
from engine.events import (
    Event,
    Notice,
    RunFinished,
    RunProgress,
    RunStateChanged,
    SimulatedSpeedsNotice,
)
from engine.model import Mode, RunSpec, RunState, Scenario
from engine.run.orchestrator import Orchestrator, PlanOutcome
from tests.support.cli import summaries
from tests.support.config_writer import write_config
from tests.support.plans import plan_table, run_plan, run_to_end
from tests.support.processes import live_group_members

TWO = ["slow", "fast"]
SWEEP_AND_GROUPS = (
    plan_table("sweep", nodes=TWO, benchmark="demo", samples=[60, 120])
    + plan_table("group", name="equal", nodes=TWO, benchmark="demo", total_samples=240,
                 split="equal")
    + plan_table("group", name="weighted", nodes=TWO, benchmark="demo", total_samples=240,
                 split="auto")
)  # fmt: skip


def one_run(samples: int = 50, node: str = "slow") -> str:
    return plan_table("run", node=node, benchmark="demo", samples=samples)


async def one_run_on_slow(
    tmp_path: Path, samples: int, **config: str
) -> tuple[PlanOutcome, dict, list[Event]]:
    """One run of `samples` on node slow (200 samples/s) to its end, with `config` given to
    `write_config`: the outcome, the run's summary (its JSON) and every event."""
    cfg = write_config(tmp_path, speeds={"slow": 200}, plan=one_run(samples), **config)
    _, outcome, events = await run_plan(cfg)
    (summary,) = summaries(tmp_path / "results").values()
    return outcome, summary, events


async def test_sweep_then_equal_and_weighted_groups(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, speeds={"slow": 100, "fast": 210}, plan=SWEEP_AND_GROUPS)
    orch, outcome, events = await run_plan(cfg)
    assert outcome.ok, outcome.failures
    # The simulated-speeds notice is told apart by its type (the console hides its text).
    assert sum(isinstance(e, SimulatedSpeedsNotice) for e in events) == 1
    runs = summaries(tmp_path / "results")
    assert len(runs) == 8
    for s in runs.values():
        run_dir = tmp_path / "results" / s["run_dir"]
        for name in (
            "mlperf_log_summary.txt",
            "mlperf_log_detail.txt",
            "stdout.log",
            "config.snapshot.toml",
            "orchestrator_summary.json",
        ):
            assert (run_dir / name).is_file(), (run_dir, name)
        assert s["samples_processed"] == s["samples_requested"]
        assert s["loadgen"]["complete"] and s["loadgen"]["validity"] == "VALID"
        assert s["loadgen"]["metric"]["unit"] == "samples/s"
        wall = s["wall"]
        assert s["wall_throughput"]["value"] == pytest.approx(
            s["samples_processed"] / wall["duration_s"]
        )
        assert run_dir.name.startswith(s["node"] + "_")

    groups = {g.summary.name: g.summary.to_json() for g in orch.store.groups()}
    eq, w = groups["equal"], groups["weighted"]
    assert [sh["samples_requested"] for sh in eq["shards"]] == [120, 120]
    assert w["split"] == "weighted" and "measured wall throughput" in w["split_source"]
    slow_n, fast_n = (sh["samples_requested"] for sh in w["shards"])
    # The shards follow the sweep's measured wall throughputs (the nodes' most recent single
    # runs, as the group summary records them), not the simulated 100 and 210: on a starved
    # machine the harness start-up narrows the measured ratio, and the split must follow it.
    tp = w["single_run_throughputs"]
    assert tp["fast"] > tp["slow"]
    assert slow_n + fast_n == 240 and fast_n > slow_n
    assert abs(fast_n - 240 * tp["fast"] / (tp["fast"] + tp["slow"])) <= 1
    # Group figures equal what the shard summaries hold, recomputed independently.
    for g in (eq, w):
        shards = [runs[sh["run_id"]] for sh in g["shards"]]
        span = max(s["wall"]["end_unix"] for s in shards) - min(
            s["wall"]["start_unix"] for s in shards
        )
        assert g["makespan_s"] == pytest.approx(span)
        processed = sum(s["samples_processed"] for s in shards)
        assert g["combined_throughput"] == pytest.approx(processed / span)
        singles = list(g["single_run_throughputs"].values())
        assert all(v is not None for v in singles)
        assert g["scaling_efficiency"] == pytest.approx(processed / span / sum(singles))
    # Sizing shards by measured speed lets the fast node finish with the slow one.
    assert w["scaling_efficiency"] > eq["scaling_efficiency"]
    assert any(isinstance(e, RunProgress) and 0 < e.completed < (e.total or 0) for e in events)


async def test_cancel_kills_the_process_group_and_keeps_partial_results(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, speeds={"slow": 20}, plan=one_run(400))
    pids: list[int] = []
    orch = Orchestrator(load_config(cfg))

    def on_event(e: Event) -> None:
        if isinstance(e, RunProgress) and e.completed >= 20 and not pids:
            ex = orch._executions[e.run_id]
            pids.append(ex.handle.pid)
            assert orch.cancel(e.run_id)

    orch.bus.add_listener(on_event)
    outcome = await run_to_end(orch)
    assert outcome.cancelled and not outcome.ok
    (s,) = summaries(tmp_path / "results").values()
    assert s["exit"]["state"] == RunState.CANCELLED.value
    run_dir = tmp_path / "results" / s["run_dir"]
    assert (run_dir / "stdout.log").read_text().count("progress") >= 1
    assert live_group_members(pids[0]) == []  # nothing of the run is left alive


async def test_harness_error_after_complete_summary_is_not_a_failed_benchmark(
    tmp_path: Path,
) -> None:
    outcome, s, _ = await one_run_on_slow(tmp_path, 40, extra_args="--exit-code-after 1")
    assert s["exit"]["state"] == RunState.HARNESS_ERROR_AFTER_COMPLETE.value
    assert s["exit"]["code"] == 1
    assert s["loadgen"]["validity"] == "VALID" and s["loadgen"]["metric"]["value"] > 0
    assert outcome.ok


async def test_crashed_harness_is_failed_with_the_reason(tmp_path: Path) -> None:
    outcome, s, _ = await one_run_on_slow(tmp_path, 80, extra_args="--crash-after 10")
    assert s["exit"]["state"] == RunState.FAILED.value
    assert "exited with code 3" in s["exit"]["detail"]
    assert s["loadgen"]["complete"] is False and s["loadgen"]["metric"] is None
    assert s["wall_throughput"] is None or s["samples_processed"] is not None
    assert not outcome.ok and outcome.failed == ("s1-slow-80",)


async def test_stray_audit_config_is_refused_before_launch(tmp_path: Path) -> None:
    cwd = tmp_path / "harness"
    cwd.mkdir()
    (cwd / "audit.config").write_text("*.*.mode = 2\n")
    _, s, _ = await one_run_on_slow(tmp_path, 20, bench_extra=f'cwd = "{cwd}"')
    assert s["exit"]["state"] == RunState.FAILED.value
    assert "audit.config" in s["exit"]["detail"]
    assert not list((tmp_path / "nodes").rglob("launch.sh"))


async def test_preflight_and_launch_look_for_audit_config_in_one_place(tmp_path: Path) -> None:
    """Pins defect 2: the preflight (`mlconsole check`) and the launch apply one rule
    (`engine.run.audit_config.audit_config_dir`), so a cwd templated with per-run values is
    checked by both, and `audit_config_intended` lets both through."""
    from engine.run.preflight import audit_cwds, check_node

    harness = tmp_path / "h-s1-slow-20"  # the cwd of run s1-slow-20
    harness.mkdir()
    (harness / "audit.config").write_text("*.*.mode = 2\n")
    for intended in (False, True):
        cfg = write_config(
            tmp_path,
            speeds={"slow": 400},
            plan=one_run(20),
            bench_extra=f'cwd = "{tmp_path}/h-{{run_id}}"\n'
            f"audit_config_intended = {str(intended).lower()}",
        )
        config = load_config(cfg)
        node = config.nodes["slow"]
        cwds = audit_cwds(config, node)
        assert cwds == ([] if intended else [str(harness)])
        facts = await check_node(node, cwds)
        assert facts.audit_config is not intended
        _, outcome, _ = await run_plan(cfg)
        assert outcome.ok is intended, outcome.failures
        if not intended:
            (why,) = [reason for _, reason in outcome.failures]
            assert f"audit.config in {harness} on slow" in why
            assert any(f"audit.config in {harness} on slow" in w for w in facts.warnings)


async def test_user_conf_loadgen_would_reject_is_refused(tmp_path: Path) -> None:
    # A line with a placeholder is checked once rendered, at launch (a literal one is a
    # config error: tests/integration/test_cli_bad_input.py).
    _, s, _ = await one_run_on_slow(
        tmp_path, 20, user_conf="demo.Offline.target_qps = {speed}fast\n"
    )
    assert s["exit"]["state"] == RunState.FAILED.value
    assert "user_conf" in s["exit"]["detail"] and "line" in s["exit"]["detail"]


async def test_a_run_without_completions_is_flagged_stalled(tmp_path: Path) -> None:
    outcome, _, events = await one_run_on_slow(
        tmp_path, 20, extra_args="--load-time 2.5", settings_extra="stall_timeout_s = 1"
    )
    states = [e.state for e in events if isinstance(e, RunStateChanged)]
    assert RunState.STALLED in states
    assert states[-1] == RunState.SUCCEEDED and outcome.ok


def test_shard_sizes_add_up_and_follow_weights() -> None:
    assert figures.shard_sizes(320, {"a": 20.0, "b": 42.0}) == {"a": 103, "b": 217}
    assert figures.shard_sizes(5, {"a": None, "b": 1.0}) == {"a": 3, "b": 2}
    assert sum(figures.shard_sizes(1001, {"a": 1.0, "b": 2.0, "c": 3.3}).values()) == 1001


async def test_a_group_with_no_measurements_calibrates_then_sizes_shards(tmp_path: Path) -> None:
    plan = plan_table(
        "group", name="cal", nodes=TWO, benchmark="demo", total_samples=600, split="auto",
        calibrate=True,
    )  # fmt: skip
    cfg = write_config(tmp_path, speeds={"slow": 100, "fast": 210}, plan=plan)
    orch, outcome, _ = await run_plan(cfg)
    assert outcome.ok, outcome.failures
    runs = summaries(tmp_path / "results")
    calibration = [s for s in runs.values() if s["label"] == "calibration"]
    assert {s["node"] for s in calibration} == {"slow", "fast"}
    (group,) = (g.summary.to_json() for g in orch.store.groups())
    assert group["split"] == "weighted"
    for s in calibration:
        assert s["run_dir"] in group["split_source"]
    # The shards follow the calibration runs' measured wall throughputs exactly (how far
    # apart those are depends on the machine's load: start-up dominates a short run).
    measured = {s["node"]: s["wall_throughput"]["value"] for s in calibration}
    sizes = {sh["node"]: sh["samples_requested"] for sh in group["shards"]}
    assert sizes == figures.shard_sizes(600, measured)
    assert sum(sizes.values()) == 600 and sizes["fast"] > sizes["slow"]


async def test_a_harness_without_shard_offset_gets_a_dataset_slice_per_shard(
    tmp_path: Path,
) -> None:
    """shard_dataset: each shard's harness reads "the first N records" of its own slice."""
    records = [{"tok_input": [128000, i], "id": i} for i in range(100)]
    (tmp_path / "cnn.json").write_text(json.dumps(records, indent=4))
    # Stands for a reference main.py: it reads the first records of --dataset-path.
    reader = tmp_path / "reader.py"
    reader.write_text(
        "import json, sys\nd = json.load(open(sys.argv[1]))\nprint('slice', d[0]['id'], len(d))\n"
    )
    path = write_config(
        tmp_path,
        plan='[[plan]]\nkind = "group"\nnodes = ["slow", "fast"]\nbenchmark = "demo"\n'
        'total_samples = 60\nsplit = "equal"\n',
        bench_extra=f'supports_shards = false\nshard_dataset = "{tmp_path / "cnn.json"}"',
    )
    prefix = f"{{python}} {reader} {{dataset_slice}} && "
    path.write_text(path.read_text().replace('command = "', f'command = "{prefix}', 1))
    _, outcome, _ = await run_plan(path)
    assert outcome.ok, outcome.failures
    seen = sorted(
        line
        for d in (tmp_path / "results").glob("*_*/stdout.log")
        for line in d.read_text().splitlines()
        if line.startswith("slice ")
    )
    assert seen == ["slice 0 30", "slice 30 30"]


async def test_reattach_to_an_unreachable_node_ends_in_a_run_state_and_stays_unfinished(
    tmp_path: Path,
) -> None:
    """Pins defect 5: re-attaching to a run whose node cannot be reached records
    RunState.UNREACHABLE (a summary naming where the run may still go on), publishes
    RunFinished, and leaves the journal entry unfinished for a later attach."""
    from engine.results.schema import read_run_summary, spec_to_json
    from engine.results.store import ResultsStore
    from tests.support.sshd import free_port

    cfg = write_config(tmp_path, speeds={"slow": 100})
    with open(cfg, "a") as f:  # a node on a port where nothing listens
        f.write(f'\n[nodes.far]\ntransport = "ssh"\nhost = "127.0.0.1"\nport = {free_port()}\n'
                "connect_timeout_s = 2\n")  # fmt: skip
    config = load_config(cfg)
    store = ResultsStore(config.settings.results_dir)
    run_dir = store.new_run_dir("far")
    spec = RunSpec("r-far", "far", "demo", Scenario.OFFLINE, Mode.PERFORMANCE, 10)
    store.journal({"event": "started", "run_id": spec.run_id, "node": "far",
                   "run_dir": run_dir.name, "node_run_dir": "/nodes/far/runs/x",
                   "log_dir": "/nodes/far/runs/x", "pid": 4242,
                   "spec": spec_to_json(spec)})  # fmt: skip
    orch = Orchestrator(config)
    events: list[Event] = []
    orch.bus.add_listener(events.append)
    (summary,) = await orch.reattach()
    await orch.close()
    assert summary.state == RunState.UNREACHABLE and summary.state.terminal
    assert "/nodes/far/runs/x" in summary.exit.detail
    (finished,) = [e for e in events if isinstance(e, RunFinished)]
    assert finished.state == RunState.UNREACHABLE and finished.summary == summary
    assert read_run_summary(run_dir).state == RunState.UNREACHABLE
    assert [e["run_dir"] for e in store.unfinished()] == [run_dir.name]


async def test_a_failed_report_preload_is_said_and_awaited(tmp_path: Path, monkeypatch) -> None:
    """Pins defect 3: the preload of the report libraries is awaited (no "Task exception was
    never retrieved") and its failure is a warning, through charts' public warm_up."""
    import engine.analysis.charts as charts

    def broken() -> None:
        raise ImportError("no matplotlib here")

    monkeypatch.setattr(charts, "warm_up", broken)
    _, outcome, events = await run_plan(write_config(tmp_path, plan=""))
    assert outcome.ok
    notes = [
        e.message
        for e in events
        if isinstance(e, Notice) and not isinstance(e, SimulatedSpeedsNotice)
    ]
    assert notes == ["could not preload the report libraries: ImportError: no matplotlib here"]
