"""Runs on a real Slurm (munged, slurmctld, two slurmds on localhost: tests/support/slurm.py).
The harness is the bundled LoadGen demo harness (node speeds simulated, as everywhere); the
jobs, their states, their cancel and their output are Slurm's own. All tests share one
cluster, owned by one xdist worker (group `slurm`)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.config.load import load_config
from engine.events import Event, RunProgress, RunStateChanged
from engine.model import RunState
from engine.results.store import RecordedRun, ResultsStore
from engine.run.orchestrator import Orchestrator
from tests.support.config_writer import HARNESS, demo_benchmark
from tests.support.paths import DOUBLES_DIR, REPO_ROOT
from tests.support.plans import plan_table, run_to_end
from tests.support.podman import PodmanLab
from tests.support.processes import live_processes_naming
from tests.support.slurm import SlurmCluster

pytestmark = pytest.mark.xdist_group("slurm")


def slurm_config(
    tmp_path: Path,
    cluster: SlurmCluster,
    plan: str,
    *,
    slurm: str = 'partition = "debug"',
    command: str = HARNESS,
    settings: str = "",
    path: str | None = None,
    node_extra: str = "",
    extra: tuple[str, ...] = (),
) -> Path:
    node = cluster.node_toml("cluster", tmp_path / "nodes" / "cluster", slurm)
    if path is not None:
        node = node.replace("env = { ", f'env = {{ PATH = "{path}", ')
    node = node.replace("env = { ", f"env = {{ {node_extra}") if node_extra else node
    text = "\n".join(
        [
            "[settings]",
            f'results_dir = "{tmp_path / "results"}"',
            f'reports_dir = "{tmp_path / "reports"}"',
            "poll_interval_s = 0.2",
            settings,
            "",
            node,
            *demo_benchmark(command),
            "",
            *extra,
            plan,
        ]
    )
    path = tmp_path / "slurm.toml"
    path.write_text(text)
    return path


# The simulated OpenAI-compatible endpoint (engine/harness/endpoint.py) as a fleet service.
FLEET_CONFIG = """
[settings]
results_dir = "{results}"
reports_dir = "{reports}"
poll_interval_s = 0.2

{node}

[services.sim]
command = '''{{python}} -m engine.harness.endpoint --port {{port}} --port-file {{port_file}} \\
  --model sim-llm --tokens-per-s {{tps}} --concurrency 8 --prefill-ms 5'''
port = 0
model = "sim-llm"
ready_timeout_s = 60
max_in_flight = 24
simulated = true

[benchmarks.llm]
dataset = "synthetic"
dataset_size = 13368
model = "demo"
max_tokens = 8
simulated = true

[[plan]]
kind = "fleet"
name = "fleet"
nodes = ["cluster"]
service = "sim"
benchmark = "llm"
samples = 40
"""


def one_run(samples: int) -> str:
    return plan_table("run", node="cluster", benchmark="demo", samples=samples)


def journal_started(tmp_path: Path) -> dict:
    lines = (tmp_path / "results" / "journal.jsonl").read_text().splitlines()
    (started,) = [json.loads(x) for x in lines if json.loads(x)["event"] == "started"]
    return started


def journal_job_id(tmp_path: Path) -> str:
    return str(journal_started(tmp_path)["job_id"])


async def plan_run(orch: Orchestrator, timeout_s: float):  # noqa: ANN201
    """The plan's outcome; the orchestrator closed however it ends."""
    try:
        return await asyncio.wait_for(orch.run_plan(), timeout_s)
    finally:
        await orch.close()


def only_run(tmp_path: Path, state: RunState) -> RecordedRun:
    """The one run the test recorded, which must have ended in `state`."""
    (rec,) = ResultsStore(tmp_path / "results").runs()
    assert rec.summary.state == state, rec.summary.exit.detail
    return rec


def states(orch: Orchestrator) -> list[RunStateChanged]:
    seen: list[RunStateChanged] = []

    def on(e: Event) -> None:
        if isinstance(e, RunStateChanged):
            seen.append(e)

    orch.bus.add_listener(on)
    return seen


async def test_a_run_is_a_slurm_job_submitted_followed_and_finished(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    orch = Orchestrator(load_config(slurm_config(tmp_path, slurm_cluster, one_run(50))))
    seen = states(orch)
    outcome = await run_to_end(orch)
    assert outcome.succeeded == ("s1-cluster-50",), outcome.failures
    only_run(tmp_path, RunState.SUCCEEDED)
    started = [e for e in seen if e.state == RunState.RUNNING and "Slurm job" in e.detail]
    assert len(started) == 1 and " on node" in started[0].detail
    job_id = journal_job_id(tmp_path)
    assert job_id.isdigit() and f"Slurm job {job_id} running on node" in started[0].detail
    assert slurm_cluster.job_state(job_id) == "COMPLETED"


async def test_exit_code_3_is_the_runs_exit_code(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    cfg = slurm_config(tmp_path, slurm_cluster, one_run(10), command="echo about to fail; exit 3")
    orch = Orchestrator(load_config(cfg))
    outcome = await run_to_end(orch)
    assert outcome.failed == ("s1-cluster-10",)
    rec = only_run(tmp_path, RunState.FAILED)
    assert rec.summary.exit.code == 3
    assert "harness exited with code 3" in rec.summary.exit.detail
    job_id = journal_job_id(tmp_path)
    assert slurm_cluster.job_state(job_id) == "FAILED"


async def test_a_gres_the_partition_lacks_is_refused_at_submit_with_slurms_reason(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    cfg = slurm_config(
        tmp_path, slurm_cluster, one_run(10), slurm='partition = "debug"\ngres = "gpu:1"'
    )
    orch = Orchestrator(load_config(cfg))
    outcome = await run_to_end(orch)
    ((run_id, why),) = outcome.failures
    assert why == (
        "Slurm refused run s1-cluster-10 on node cluster (partition debug): "
        "Batch job submission failed: Requested node configuration is not available"
    )


async def test_a_job_on_a_down_partition_shows_pending_with_its_reason_then_cancels(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    cfg = slurm_config(tmp_path, slurm_cluster, one_run(10), slurm='partition = "down"')
    orch = Orchestrator(load_config(cfg))
    seen: list[RunStateChanged] = []

    def on(e: Event) -> None:
        if isinstance(e, RunStateChanged):
            seen.append(e)
            if e.state == RunState.PENDING:
                orch.cancel(e.run_id)

    orch.bus.add_listener(on)
    outcome = await run_to_end(orch, 60)
    pending = [e for e in seen if e.state == RunState.PENDING]
    assert pending[0].detail == "waiting in Slurm's queue (PENDING): PartitionDown"
    assert outcome.cancelled == ("s1-cluster-10",)


def wait_for(pred, timeout_s: float = 60.0, what: str = "condition"):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if got := pred():
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_cancel_mid_run_is_scancel_and_leaves_no_process(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    cfg = slurm_config(tmp_path, slurm_cluster, one_run(13000))
    orch = Orchestrator(load_config(cfg))
    seen: list[Event] = []

    def on(e: Event) -> None:
        seen.append(e)
        if isinstance(e, RunProgress) and e.completed and e.completed > 50:
            orch.cancel(e.run_id)

    orch.bus.add_listener(on)
    outcome = await run_to_end(orch, 90)
    assert outcome.cancelled == ("s1-cluster-13000",)
    rec = only_run(tmp_path, RunState.CANCELLED)
    assert "partial results kept" in rec.summary.exit.detail
    assert slurm_cluster.job_state(journal_job_id(tmp_path)) == "CANCELLED"
    assert live_processes_naming(str(tmp_path / "nodes")) == []


async def test_an_external_scancel_is_a_cancel_by_someone_else(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    cfg = slurm_config(tmp_path, slurm_cluster, one_run(13000))
    orch = Orchestrator(load_config(cfg))
    done = []

    def on(e: Event) -> None:
        if isinstance(e, RunProgress) and e.completed and not done:
            done.append(1)
            slurm_cluster.cmd("scancel", journal_job_id(tmp_path))

    orch.bus.add_listener(on)
    outcome = await run_to_end(orch, 90)
    assert outcome.cancelled == ("s1-cluster-13000",)
    rec = only_run(tmp_path, RunState.CANCELLED)
    assert rec.summary.exit.detail.startswith(
        "the job was cancelled outside mlconsole (scancel); partial results kept in "
    )
    assert live_processes_naming(str(tmp_path / "nodes")) == []


async def test_a_killed_console_reattaches_to_the_job_by_its_id(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    """The console is a real `mlconsole --batch` process, killed with SIGKILL while the job
    runs; a new orchestrator finds the job again from the journal's job id."""
    cfg = slurm_config(tmp_path, slurm_cluster, one_run(1500))
    journal = tmp_path / "results" / "journal.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "--batch", str(cfg)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(lambda: journal.exists() and '"job_id"' in journal.read_text(), 60, "a job id")
        job_id = journal_job_id(tmp_path)
        wait_for(lambda: slurm_cluster.job_state(job_id) == "RUNNING", 30, "the job to run")
    finally:
        proc.kill()
        proc.wait()
    orch = Orchestrator(load_config(cfg))
    try:
        (summary,) = await asyncio.wait_for(orch.reattach(), 90)
    finally:
        await orch.close()
    assert summary.state == RunState.SUCCEEDED, summary.exit.detail
    assert slurm_cluster.job_state(job_id) == "COMPLETED"
    assert ResultsStore(tmp_path / "results").unfinished() == []


async def test_a_job_over_its_time_limit_ends_timed_out_with_partial_results(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    """The one slow test: Slurm rounds limits up to a minute and checks them about every 30 s,
    so the job ends 60-100 s after it starts."""
    cfg = slurm_config(
        tmp_path, slurm_cluster, one_run(13000), slurm='partition = "debug"\ntime_limit = "1"'
    )
    cfg.write_text(cfg.read_text().replace("speed = 100", "speed = 50"))
    orch = Orchestrator(load_config(cfg))
    outcome = await run_to_end(orch, 180)
    assert outcome.failed == ("s1-cluster-13000",)
    rec = only_run(tmp_path, RunState.TIMED_OUT)
    assert rec.summary.exit.detail.startswith(
        "Slurm ended the job at its time limit (TimeLimit); partial results kept in "
    )
    assert (rec.run_dir / "stdout.log").stat().st_size > 0  # the partial output came back
    assert "DUE TO TIME LIMIT" in (rec.run_dir / "slurm.out").read_text()
    assert live_processes_naming(str(tmp_path / "nodes")) == []


async def test_a_fleet_service_is_a_slurm_job_reached_on_the_node_slurm_gave_it(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    from engine.events import ServiceStateChanged

    node = slurm_cluster.node_toml("cluster", tmp_path / "nodes" / "cluster").replace(
        "speed = 100", "tps = 2000"
    )
    path = tmp_path / "fleet.toml"
    path.write_text(FLEET_CONFIG.format(results=tmp_path / "results", reports=tmp_path / "reports",
                                        node=node))  # fmt: skip
    orch = Orchestrator(load_config(path))
    events: list[Event] = []
    orch.bus.add_listener(events.append)
    outcome = await run_to_end(orch, 120)
    assert outcome.ok, outcome.failures
    said = [(e.state, e.detail) for e in events if isinstance(e, ServiceStateChanged)]
    starting = [d for s, d in said if s == "starting"]
    assert starting and starting[0].startswith("Slurm job ")
    job_id = starting[0].split()[2].rstrip(",")
    assert ("stopped" in [s for s, _ in said]) and slurm_cluster.job_state(job_id) == "CANCELLED"
    assert live_processes_naming(str(tmp_path / "nodes")) == []


async def test_telemetry_commands_run_inside_the_runs_allocation(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    """`srun --overlap --jobid`: a step beside the run's own, on the run's node (this is how
    nvidia-smi reaches a compute node's GPUs; there are none here, so the step is `hostname`
    and Slurm's own view of where it ran)."""
    from engine.model import NodeSpec, SlurmSpec
    from engine.transport.base import LaunchRequest
    from engine.transport.slurm import SlurmTransport

    node = NodeSpec("cluster", "slurm", env=slurm_cluster.env, slurm=SlurmSpec(partition="debug"))
    t = SlurmTransport(node)
    d = str(tmp_path / "run")
    handle = await t.start(LaunchRequest("r1", d, "sleep 60", d))
    try:
        wait_for(lambda: slurm_cluster.job_state(handle.job_id or "") == "RUNNING", 30, "running")
        steps = t.in_job(handle.job_id or "")
        res = await steps.run(["sh", "-c", "echo $SLURM_JOB_ID $SLURMD_NODENAME"], timeout=30)
        assert res.exit_status == 0, res.stderr
        status = await t.status(handle)
        assert res.stdout.split() == [handle.job_id, status.host]
        lines = [x async for x in steps.stream_lines(["sh", "-c", "echo a; echo b"])]
        assert lines == ["a", "b"]
    finally:
        await t.cancel(handle)
    assert slurm_cluster.job_state(handle.job_id or "") == "CANCELLED"


async def test_a_slurm_runs_gpus_are_sampled_from_inside_its_allocation(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    """No GPU exists here: the node's PATH starts with a dir holding `nvidia-smi`, a wrapper
    that logs the Slurm job and step it runs in, then runs tests/support/doubles/nvidia-smi,
    a TEST DOUBLE printing made-up numbers (two H100s) in nvidia-smi's format. What is real:
    the sampler's query and `-lms` stream are job steps of the run's own job
    (`srun --overlap --jobid`), and telemetry.csv and the summary record what came back."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    steps = tmp_path / "steps.log"
    wrapper = bindir / "nvidia-smi"
    wrapper.write_text(f'#!/bin/sh\necho "$SLURM_JOB_ID $SLURM_STEP_ID" >> {steps}\n'
                       f'exec {DOUBLES_DIR / "nvidia-smi"} "$@"\n')  # fmt: skip
    wrapper.chmod(0o755)
    cfg = slurm_config(tmp_path, slurm_cluster, one_run(400), path=f"{bindir}:{os.environ['PATH']}",
                       settings="telemetry_interval_s = 0.2")  # fmt: skip
    orch = Orchestrator(load_config(cfg))
    try:
        outcome = await asyncio.wait_for(orch.run_plan(), 90)
    finally:
        await orch.close()
    assert outcome.succeeded == ("s1-cluster-400",), outcome.failures
    (rec,) = ResultsStore(tmp_path / "results").runs()
    t = rec.summary.telemetry
    assert t.state == "ok", t.detail
    assert t.samples and t.samples >= 2 and [g.gpu for g in t.gpus] == [0, 1]
    assert len((rec.run_dir / "telemetry.csv").read_text().splitlines()) > 2
    job_id = journal_job_id(tmp_path)
    ran_in = {tuple(x.split()) for x in steps.read_text().splitlines()}
    # the query and the stream: steps of the run's job (the preflight's srun is a job too)
    mine = [step for job, step in ran_in if job == job_id]
    assert len(mine) >= 2 and all(step.isdigit() for step in mine), ran_in


async def test_a_slurm_run_in_a_podman_container_is_stopped_by_name_inside_its_job(
    tmp_path: Path, slurm_cluster: SlurmCluster, podman_lab: PodmanLab
) -> None:
    """The harness runs in a real podman container inside the batch job (tests/support/podman.py)
    and ignores TERM. Slurm here follows a job's processes by their parents
    (proctrack/linuxproc) and podman's conmon leaves that tree, so scancel alone would leave
    the container running: the cancel stops it by its name first, in a step of the job."""
    env = {**podman_lab.env, "PYTHONPATH": str(REPO_ROOT)}
    cfg = slurm_config(
        tmp_path, slurm_cluster, one_run(3000),
        command=f"trap '' TERM; test -e /run/.containerenv && {HARNESS}",
        node_extra="".join(f'{k} = "{v}", ' for k, v in env.items()),
        extra=tuple(podman_lab.container_toml("benchmarks.demo")),
    )  # fmt: skip
    cfg.write_text(cfg.read_text().replace("vars = {", f'python = "{sys.executable}"\nvars = {{'))
    orch = Orchestrator(load_config(cfg))
    seen = states(orch)
    orch.bus.add_listener(
        lambda e: orch.cancel(e.run_id) if isinstance(e, RunProgress) and e.completed else None
    )
    outcome = await plan_run(orch, 90)
    assert outcome.cancelled == ("s1-cluster-3000",), [(e.state, e.detail) for e in seen]
    name = journal_started(tmp_path)["container"]["name"]
    assert name.startswith("mlc-s1-cluster-3000-") and name not in podman_lab.containers()
    # The job ends as the container does (its client exits 137: FAILED), or by the scancel
    # that follows; it must not run on.
    assert slurm_cluster.job_state(journal_job_id(tmp_path)) in ("FAILED", "CANCELLED")
    assert live_processes_naming(str(tmp_path / "nodes")) == []
