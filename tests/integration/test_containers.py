"""Runs inside real podman containers on the local transport (tests/support/podman.py: a
rootfs dir with this machine's /usr, Python and the repository mounted read-only, since no
image registry is reachable here). The harness is the bundled LoadGen demo harness (node
speeds simulated, as everywhere); the containers, their names and their stop are podman's.
The harness's command first checks for /run/.containerenv, which podman writes into every
container, so a run that did not run in one fails."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from engine.config.load import load_config
from engine.events import Event, RunProgress, ServiceStateChanged
from engine.model import RunState
from engine.results.store import ResultsStore
from engine.run.orchestrator import Orchestrator
from engine.run.preflight import check_nodes, facts_table
from tests.support.cli import mlconsole
from tests.support.config_writer import HARNESS, demo_benchmark, toml_str
from tests.support.killed_console import batch_killed_when
from tests.support.paths import REPO_ROOT
from tests.support.podman import PodmanLab
from tests.support.processes import live_processes_naming

pytestmark = pytest.mark.xdist_group("podman")

IN_CONTAINER = f"test -e /run/.containerenv && {HARNESS}"


def podman_config(
    tmp_path: Path,
    lab: PodmanLab,
    samples: int,
    speed: int = 200,
    *,
    command: str = IN_CONTAINER,
    bench_extra: str = "",
    mode: str = "performance",
) -> Path:
    text = "\n".join([
        *settings_table(tmp_path),
        *node_table(tmp_path, lab, speed),
        *demo_benchmark(command),
        bench_extra,
        "",
        *lab.container_toml("benchmarks.demo"),
        f'[[plan]]\nkind = "run"\nnode = "box"\nbenchmark = "demo"\nsamples = {samples}',
        f'mode = "{mode}"\n',
    ])  # fmt: skip
    path = tmp_path / "podman.toml"
    path.write_text(text)
    return path


ENDPOINT = (
    "test -e /run/.containerenv && {python} -m engine.harness.endpoint --port {port} "
    "--port-file {port_file} --model sim-llm --tokens-per-s 2000 --concurrency 8 --prefill-ms 5"
)


def settings_table(tmp_path: Path) -> list[str]:
    return [
        "[settings]",
        f"results_dir = {toml_str(tmp_path / 'results')}",
        f"reports_dir = {toml_str(tmp_path / 'reports')}",
        "poll_interval_s = 0.1",
        "",
    ]


def node_table(tmp_path: Path, lab: PodmanLab, speed: int) -> list[str]:
    env = {**lab.env, "PYTHONPATH": str(REPO_ROOT)}
    return [
        "[nodes.box]",
        'transport = "local"',
        f"workdir = {toml_str(tmp_path / 'nodes' / 'box')}",
        f"python = {toml_str(sys.executable)}",
        "env = { " + ", ".join(f"{k} = {toml_str(v)}" for k, v in env.items()) + " }",
        f"vars = {{ speed = {speed} }}",
        "simulated = true",
        "",
    ]


async def run_plan(path: Path):  # noqa: ANN201
    orch = Orchestrator(load_config(path))
    try:
        return await asyncio.wait_for(orch.run_plan(), 60)
    finally:
        await orch.close()


def journal_container(tmp_path: Path) -> dict[str, str]:
    lines = (tmp_path / "results" / "journal.jsonl").read_text().splitlines()
    (started,) = [json.loads(x) for x in lines if json.loads(x)["event"] == "started"]
    return started["container"]


def cancel_on_progress(orch: Orchestrator) -> None:
    def on(e: Event) -> None:
        if isinstance(e, RunProgress) and e.completed:
            orch.cancel(e.run_id)

    orch.bus.add_listener(on)


async def cancelled_mid_run(tmp_path: Path, lab: PodmanLab, command: str) -> None:
    """A run of `command` cancelled once it shows progress: CANCELLED, its container gone
    from `podman ps -a`, no process left that names its run dir."""
    orch = Orchestrator(load_config(podman_config(tmp_path, lab, 3000, 100, command=command)))
    cancel_on_progress(orch)
    try:
        outcome = await asyncio.wait_for(orch.run_plan(), 60)
    finally:
        await orch.close()
    assert outcome.cancelled == ("s1-box-3000",)
    (rec,) = ResultsStore(tmp_path / "results").runs()
    assert rec.summary.state == RunState.CANCELLED
    assert journal_container(tmp_path)["name"] not in lab.containers()
    assert live_processes_naming(str(tmp_path / "nodes")) == []


async def test_a_run_in_a_podman_container_finishes_and_its_container_is_gone(
    tmp_path: Path, podman_lab: PodmanLab
) -> None:
    outcome = await run_plan(podman_config(tmp_path, podman_lab, 200))
    assert outcome.ok, outcome.failures
    (rec,) = ResultsStore(tmp_path / "results").runs()
    assert rec.summary.state == RunState.SUCCEEDED and rec.summary.samples_processed == 200
    name = journal_container(tmp_path)["name"]
    assert name.startswith("mlc-s1-box-200-box_")
    assert rec.summary.container == {"runtime": "podman", "image": str(podman_lab.rootfs),
                                     "name": name}  # fmt: skip
    command = (rec.run_dir / "command.sh").read_text()
    assert command.startswith(f"podman run --rm --init --name {name} ")
    assert name not in podman_lab.containers()  # --rm


async def test_cancel_mid_run_stops_the_container_by_name_and_leaves_no_process(
    tmp_path: Path, podman_lab: PodmanLab
) -> None:
    await cancelled_mid_run(tmp_path, podman_lab, IN_CONTAINER)


async def test_a_killed_console_reattaches_and_cancels_the_container_by_its_recorded_name(
    tmp_path: Path, podman_lab: PodmanLab
) -> None:
    """The console is a real `mlconsole --batch` process, SIGKILLed while the harness runs in
    its container; a new orchestrator finds the run (and the container's name) in the journal
    and cancels it there."""
    cfg = podman_config(tmp_path, podman_lab, 3000, speed=100)
    batch_killed_when(cfg, tmp_path / "results", started=1)
    name = journal_container(tmp_path)["name"]
    assert name in podman_lab.containers()  # the run goes on without its console
    orch = Orchestrator(load_config(cfg))
    cancel_on_progress(orch)
    try:
        (summary,) = await asyncio.wait_for(orch.reattach(), 60)
    finally:
        await orch.close()
    assert summary.state == RunState.CANCELLED, summary.exit.detail
    assert summary.container is not None and summary.container["name"] == name
    assert name not in podman_lab.containers()
    assert live_processes_naming(str(tmp_path / "nodes")) == []


async def test_a_harness_that_ignores_term_is_killed_with_its_container(
    tmp_path: Path, podman_lab: PodmanLab
) -> None:
    """Signals to the podman client reach the container only while the client lives: a
    harness that ignores TERM outlives a TERM and a KILL of the client's process group, its
    container kept by conmon. The stop by name (TERM, KILL after the grace) ends it."""
    await cancelled_mid_run(tmp_path, podman_lab, f"trap '' TERM; {IN_CONTAINER}")


async def test_a_fleet_service_runs_in_a_podman_container_and_is_stopped_with_it(
    tmp_path: Path, podman_lab: PodmanLab
) -> None:
    """The simulated OpenAI-compatible endpoint as a service in a container on the host's
    network (`--network=host`, the option a server's port needs); the plan's end stops it."""
    text = "\n".join([
        *settings_table(tmp_path),
        *node_table(tmp_path, podman_lab, 100),
        "[services.sim]",
        f"command = {toml_str(ENDPOINT)}",
        'port = 0\nmodel = "sim-llm"\nready_timeout_s = 30\nmax_in_flight = 24\nsimulated = true',
        *podman_lab.container_toml("services.sim", "--network=host"),
        "[benchmarks.llm]",
        'dataset = "synthetic"\ndataset_size = 13368\nmodel = "demo"\nmax_tokens = 8',
        "simulated = true",
        '[[plan]]\nkind = "fleet"\nname = "fleet"\nnodes = ["box"]\nservice = "sim"',
        'benchmark = "llm"\nsamples = 40',
    ])  # fmt: skip
    path = tmp_path / "fleet.toml"
    path.write_text(text)
    orch = Orchestrator(load_config(path))
    events: list[Event] = []
    orch.bus.add_listener(events.append)
    try:
        outcome = await asyncio.wait_for(orch.run_plan(), 60)
    finally:
        await orch.close()
    assert outcome.ok, outcome.failures
    said = [e.state for e in events if isinstance(e, ServiceStateChanged)]
    assert "ready" in said and "stopped" in said
    sdir = tmp_path / "nodes" / "box" / "services" / "sim-0"
    command = (sdir / "command.sh").read_text()
    assert command.startswith("podman run --rm --init --name mlc-service-sim-0-box ")
    assert "mlc-service-sim-0-box" not in podman_lab.containers()
    assert live_processes_naming(str(sdir)) == []


async def test_check_says_whether_the_runtime_answers(
    tmp_path: Path, podman_lab: PodmanLab
) -> None:
    """podman answers; a docker whose daemon is not there (DOCKER_HOST names no socket) does
    not, whether or not docker's client is installed, and the node is then not ready."""
    path = podman_config(tmp_path, podman_lab, 10)
    (facts,) = await check_nodes(load_config(path))
    assert facts.ready and [(c.runtime, c.usable) for c in facts.containers] == [("podman", True)]
    assert "box: container: podman answers (version " in facts_table([facts])
    docker = path.read_text().replace('runtime = "podman"', 'runtime = "docker"').replace(
        "env = { ", 'env = { DOCKER_HOST = "unix:///nonexistent/docker.sock", '
    )
    path.write_text(docker)
    (facts,) = await check_nodes(load_config(path))
    assert [(c.runtime, c.usable) for c in facts.containers] == [("docker", False)]
    assert not facts.ready and "box: warning: docker is not usable: " in facts_table([facts])
    # the batch lines say it too, before the run fails on it
    res = mlconsole("--batch", str(path))
    assert "node box: warning: docker is not usable: " in res.stdout, res.stdout + res.stderr


async def test_the_accuracy_step_scores_in_a_container_of_the_same_image(
    tmp_path: Path, podman_lab: PodmanLab
) -> None:
    """The bundled scoring script, also checking /run/.containerenv: it scores only where
    the harness ran, in a container of the benchmark's image (`<name>-accuracy`, --rm)."""
    score = ("test -e /run/.containerenv && {python} -m engine.harness.score "
             "--accuracy-log {accuracy_log} --shard-start {shard_start}")  # fmt: skip
    cfg = podman_config(tmp_path, podman_lab, 60, 500, mode="accuracy",
                        command=f"{IN_CONTAINER} --tokens 8",
                        bench_extra=f"accuracy_command = {toml_str(score)}")  # fmt: skip
    outcome = await run_plan(cfg)
    assert outcome.ok, outcome.failures
    (rec,) = ResultsStore(tmp_path / "results").runs()
    assert rec.summary.accuracy is not None and rec.summary.accuracy.state == "scored"
    assert rec.summary.accuracy.verdict == "met", rec.summary.accuracy
    name = journal_container(tmp_path)["name"]
    line = rec.summary.accuracy.command
    assert line.startswith(f"podman run --rm --init --name {name}-accuracy ")
    assert f"{name}-accuracy" not in podman_lab.containers()
