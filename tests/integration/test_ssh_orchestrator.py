"""The orchestrator over SSH: two loopback sshd nodes (one sshd each) running the bundled
LoadGen harness (real LoadGen; the node speeds are simulated by the harness, as in the demo).

Stories: a sweep and a parallel group complete on SSH nodes; a run whose link is killed three
times (the sshd child serving it, SIGKILLed) still completes, and the stdout.log fetched into
the controller's run dir is byte-identical to the node's.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from engine.config.load import load_config
from engine.events import Event, RunStateChanged
from engine.model import RunState
from engine.run.orchestrator import Orchestrator
from tests.support.cli import summaries
from tests.support.config_writer import write_ssh_config
from tests.support.plans import plan_table, run_plan
from tests.support.sshd import SshLab

pytestmark = [pytest.mark.ssh, pytest.mark.slow, pytest.mark.timeout(120)]


async def test_sweep_and_parallel_group_on_two_ssh_nodes(sshd_lab: SshLab, tmp_path: Path) -> None:
    plan = plan_table("sweep", nodes=["a", "b"], benchmark="demo", samples=[40]) + plan_table(
        "group", name="pair", nodes=["a", "b"], benchmark="demo", total_samples=160,
        split="equal",
    )  # fmt: skip
    cfg = write_ssh_config(
        sshd_lab, tmp_path, {"a": (sshd_lab.server(0), 100), "b": (sshd_lab.server(1), 160)}, plan
    )
    orch, outcome, _ = await run_plan(cfg)
    assert outcome.ok, outcome.failures
    runs = summaries(tmp_path / "results")
    assert len(runs) == 4
    for s in runs.values():
        assert s["loadgen"]["complete"] and s["samples_processed"] == s["samples_requested"]
        run_dir = tmp_path / "results" / s["run_dir"]
        assert (run_dir / "mlperf_log_summary.txt").is_file()
        node_dir = tmp_path / "nodes" / s["node"] / "runs" / s["run_dir"]
        assert (run_dir / "stdout.log").read_bytes() == (node_dir / "stdout.log").read_bytes()
    (group,) = [g.summary.to_json() for g in orch.store.groups()]
    shards = [runs[sh["run_id"]] for sh in group["shards"]]
    assert sorted(s["node"] for s in shards) == ["a", "b"]
    # The shards ran side by side: each started before the other ended.
    first, second = sorted(shards, key=lambda s: s["wall"]["start_unix"])
    assert second["wall"]["start_unix"] < first["wall"]["end_unix"]


async def test_run_completes_through_three_killed_links(sshd_lab: SshLab, tmp_path: Path) -> None:
    plan = plan_table("run", node="a", benchmark="demo", samples=240)
    server = sshd_lab.server(0)
    cfg = write_ssh_config(sshd_lab, tmp_path, {"a": (server, 60)}, plan)
    orch = Orchestrator(load_config(cfg))
    events: list[Event] = []
    orch.bus.add_listener(events.append)
    node_runs = tmp_path / "nodes" / "a" / "runs"
    kills: list[float] = []

    async def killer() -> None:
        """Three times: wait for the run to be writing over a live link (the engine says it
        is running again after the last kill), then kill the sshd child that serves the
        controller's connection."""
        while len(kills) < 3:
            logs = list(node_runs.glob("*/stdout.log"))
            live = logs and logs[0].stat().st_size > 0 and server.serving_pids()
            exited = logs and (logs[0].parent / "exit_code").exists()
            if exited:
                return
            states = [e.state for e in events if isinstance(e, RunStateChanged)]
            back = bool(states) and states[-1] == RunState.RUNNING
            if live and back and (not kills or time.monotonic() - kills[-1] > 0.7):
                if server.kill_connections():
                    kills.append(time.monotonic())
            await asyncio.sleep(0.05)

    task = asyncio.create_task(killer())
    try:
        outcome = await orch.run_plan()
    finally:
        task.cancel()
        await orch.close()
    assert len(kills) == 3, "the run ended before three links could be killed"
    assert outcome.ok, outcome.failures
    lost = [e for e in events if isinstance(e, RunStateChanged) and e.state == RunState.LINK_LOST]
    assert len(lost) >= 3
    (s,) = summaries(tmp_path / "results").values()
    assert s["exit"]["state"] == RunState.SUCCEEDED.value
    assert s["samples_processed"] == 240
    run_dir = tmp_path / "results" / s["run_dir"]
    on_node = (node_runs / s["run_dir"] / "stdout.log").read_bytes()
    assert on_node.count(b"progress") >= 3
    assert (run_dir / "stdout.log").read_bytes() == on_node
