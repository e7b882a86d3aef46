"""Fleet stages through the orchestrator: endpoint services launched on local nodes and on
nodes behind a real loopback sshd (reached through SSH port forwards), one LoadGen result,
services stopped at the end of the plan; readiness timeouts, dead services, a sweep."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.events import ServiceStateChanged
from engine.harness.demo_facts import DEMO_DATASET_SIZE
from engine.model import NodeSpec
from tests.support.plans import plan_table, run_plan
from tests.support.processes import alive

ENDPOINT = (
    "{python} -m engine.harness.endpoint --port {port} --port-file {port_file} "
    "--model sim-llm --tokens-per-s {tps} --concurrency 8 --prefill-ms 5"
)


def local_node(tmp_path: Path, name: str, tps: float) -> str:
    return (
        f'[nodes.{name}]\ntransport = "local"\nworkdir = "{tmp_path / "nodes" / name}"\n'
        f"simulated = true\nvars = {{ tps = {tps} }}\n"
    )


def ssh_node_toml(node: NodeSpec, tps: float) -> str:
    env = ", ".join(f'{k} = "{v}"' for k, v in node.env.items())
    return (
        f'[nodes.{node.name}]\ntransport = "ssh"\nhost = "{node.host}"\nport = {node.port}\n'
        f'user = "{node.user}"\nidentity_file = "{node.identity_file}"\n'
        f'known_hosts = "{node.known_hosts}"\nuse_agent = false\nworkdir = "{node.workdir}"\n'
        f'python = "{node.python}"\nenv = {{ {env} }}\nsimulated = true\n'
        f"vars = {{ tps = {tps} }}\n"
    )


def config(
    tmp_path: Path,
    nodes: str,
    plan: str,
    *,
    command: str = ENDPOINT,
    service_extra: str = "",
) -> Path:
    text = f"""
[settings]
results_dir = "{tmp_path / "results"}"
reports_dir = "{tmp_path / "reports"}"
poll_interval_s = 0.1

{nodes}

[services.sim]
command = "{command}"
port = 0
model = "sim-llm"
ready_timeout_s = 20
max_in_flight = 24
simulated = true
{service_extra}

[benchmarks.llm]
dataset = "synthetic"
dataset_size = {DEMO_DATASET_SIZE}
model = "demo"
max_tokens = 8
simulated = true

{plan}
"""
    path = tmp_path / "fleet.toml"
    path.write_text(text)
    return path


def fleet_stage(nodes: list[str], samples: int) -> str:
    return plan_table(
        "fleet", name="fleet", nodes=nodes, service="sim", benchmark="llm", samples=samples
    )


def pids_alive(tmp_path: Path) -> list[int]:
    pids = (int(p.read_text()) for p in (tmp_path / "nodes").glob("*/services/*/pid"))
    return [pid for pid in pids if alive(pid)]


def fleet_summaries(tmp_path: Path) -> list[dict]:
    return [
        json.loads(p.read_text())
        for p in sorted((tmp_path / "results").glob("fleet-*/orchestrator_summary.json"))
    ]


async def test_a_fleet_stage_on_local_nodes_is_one_valid_result(tmp_path: Path) -> None:
    nodes = local_node(tmp_path, "slow", 500) + local_node(tmp_path, "fast", 2500)
    path = config(tmp_path, nodes, fleet_stage(["slow", "fast"], 160))
    _, outcome, events = await run_plan(path)
    assert outcome.ok, outcome.failures
    (s,) = fleet_summaries(tmp_path)
    assert s["kind"] == "fleet" and s["loadgen"]["validity"] == "VALID"
    assert s["loadgen"]["token_metric"]["unit"] == "tokens/s"
    shares = {e["node"]: e["queries"] for e in s["fleet"]["endpoints"]}
    assert shares["fast"] > shares["slow"] > 0 and sum(shares.values()) == 160
    run_dir = tmp_path / "results" / s["run_dir"]
    assert json.loads((run_dir / "fleet_endpoints.json").read_text())["endpoints"]
    states = [(e.node, e.state) for e in events if isinstance(e, ServiceStateChanged)]
    assert ("slow", "ready") in states and ("fast", "stopped") in states
    assert pids_alive(tmp_path) == []
    report = (tmp_path / "reports" / "mlconsole_pipeline_report.md").read_text()
    assert "Fleet runs: one LoadGen result each" in report
    assert "a planning figure, not an MLPerf result" in report


@pytest.mark.ssh
async def test_endpoints_launched_over_ssh_are_reached_through_port_forwards(
    tmp_path: Path,
    ssh_node,
    sshd_lab,  # noqa: ANN001
) -> None:
    a = ssh_node("gpu-a", workdir=str(tmp_path / "nodes" / "gpu-a"))
    b = ssh_node("gpu-b", server=sshd_lab.server(1), workdir=str(tmp_path / "nodes" / "gpu-b"))
    nodes = ssh_node_toml(a, 2000) + ssh_node_toml(b, 2000)
    path = config(tmp_path, nodes, fleet_stage(["gpu-a", "gpu-b"], 60))
    _, outcome, events = await run_plan(path)
    assert outcome.ok, outcome.failures
    (s,) = fleet_summaries(tmp_path)
    assert s["loadgen"]["validity"] == "VALID"
    urls = {e["node"]: e["url"] for e in s["fleet"]["endpoints"]}
    real_ports = {
        n: int((tmp_path / "nodes" / n / "services" / "sim-0" / "port").read_text())
        for n in ("gpu-a", "gpu-b")
    }
    for n, url in urls.items():  # the controller went through a forward, not the node's port
        assert url.startswith("http://127.0.0.1:") and not url.endswith(f":{real_ports[n]}")
    assert all(e["queries"] > 0 for e in s["fleet"]["endpoints"])
    assert pids_alive(tmp_path) == []


async def test_a_service_that_never_gets_ready_or_dies_is_a_clear_failure(
    tmp_path: Path,
) -> None:
    nodes = local_node(tmp_path, "mute", 1000) + local_node(tmp_path, "dies", 1000)
    plan = fleet_stage(["mute", "dies"], 20)
    # "mute" never writes its port; "dies" fails at once with a message on stderr.
    command = "sleep 30 # {port} {port_file} {tps}"
    path = config(tmp_path, nodes, plan, command=command, service_extra="ready_timeout_s = 1.5")
    text = path.read_text().replace("ready_timeout_s = 20\n", "")
    text = text.replace("[nodes.dies]", '[nodes.dies]\nenv = { FAIL = "1" }')
    text = text.replace(
        f'command = "{command}"',
        'command = "if [ -n \\"$FAIL\\" ]; then echo no GPU found >&2; exit 3; fi; '
        'sleep 30 # {port} {port_file} {tps}"',
    )
    path.write_text(text)
    _, outcome, events = await run_plan(path)
    assert not outcome.ok
    (s,) = fleet_summaries(tmp_path)
    assert s["exit"]["state"] == "failed"
    assert "no endpoint became ready" in s["exit"]["detail"]
    excluded = {e["node"]: e for e in s["fleet"]["excluded"]}
    assert "not ready within ready_timeout_s = 1.5 s" in excluded["mute"]["reason"]
    assert "exited with code 3" in excluded["dies"]["reason"]
    assert "no GPU found" in " ".join(excluded["dies"]["log_tail"])
    assert pids_alive(tmp_path) == []


async def test_a_concurrency_sweep_draws_throughput_against_interactivity(
    tmp_path: Path,
) -> None:
    nodes = local_node(tmp_path, "a", 2000) + local_node(tmp_path, "b", 2000)
    plan = plan_table(
        "concurrency_sweep", name="curve", nodes=["a", "b"], service="sim", benchmark="llm",
        samples=48, concurrency=[2, 16],
    )  # fmt: skip
    path = config(tmp_path, nodes, plan, service_extra="keep_running = true")
    _, outcome, events = await run_plan(path)
    assert outcome.ok, outcome.failures
    points = fleet_summaries(tmp_path)
    assert sorted(p["fleet"]["concurrency"] for p in points) == [2, 16]
    by = {p["fleet"]["concurrency"]: p for p in points}
    assert by[16]["loadgen"]["token_metric"]["value"] > by[2]["loadgen"]["token_metric"]["value"]
    assert (tmp_path / "reports" / "charts" / "throughput_interactivity.png").is_file()
    report = (tmp_path / "reports" / "mlconsole_pipeline_report.md").read_text()
    assert "Concurrency sweep curve: throughput vs interactivity" in report
    # keep_running: the services outlive the plan, and the next plan reuses them.
    assert len(pids_alive(tmp_path)) == 2
    _, outcome, events = await run_plan(path)
    states = [(e.node, e.state) for e in events if isinstance(e, ServiceStateChanged)]
    assert ("a", "reused") in states and ("b", "reused") in states
    for pid in pids_alive(tmp_path):
        os.killpg(pid, 15)
