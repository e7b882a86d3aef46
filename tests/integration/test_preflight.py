"""Preflight against real nodes: loopback sshds, the controller itself, a closed port and a
port that never answers. No GPU exists here: GPU facts come from tests/support/doubles/nvidia-smi (a
test double, put on a node's PATH through its env) or are honestly absent."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import platform
import shutil
import sys
import time
from pathlib import Path

import pytest

from engine.model import (
    Benchmark,
    Config,
    Mode,
    NodeFacts,
    NodeSpec,
    Plan,
    RunSpec,
    Scenario,
    Stage,
)
from engine.run.node_probe import parse_probe
from engine.run.preflight import check_nodes, facts_table, facts_to_json, probe
from engine.transport.local import LocalTransport
from tests.support.paths import DOUBLES_DIR
from tests.support.sshd import SshLab

pytestmark = [pytest.mark.ssh, pytest.mark.timeout(90)]

LOADGEN = importlib.metadata.version("mlcommons-loadgen")
DOUBLE_PATH = f"{DOUBLES_DIR}:/usr/bin:/bin"


def _config(
    *nodes: NodeSpec, benchmarks: tuple[Benchmark, ...] = (), plan: Plan | None = None
) -> Config:
    return Config(
        source="test",
        nodes={n.name: n for n in nodes},
        benchmarks={b.name: b for b in benchmarks},
        plan=plan or Plan(),
    )


async def test_preflight_of_many_nodes_at_once_is_not_held_up_by_bad_ones(
    sshd_lab: SshLab, ssh_node, down_node, hanging_node
) -> None:
    """Four good nodes on two sshds, one refused, one that hangs: the good ones report long
    before the hanging one's login timeout, and each bad one says why."""
    assert shutil.which("nvidia-smi") is None, "this test expects a machine without a GPU"
    good = [ssh_node(f"g{i}", sshd_lab.server(i % 2)) for i in range(4)]
    # 4 s, not the fixture's 2 s: on a loaded 2-core machine four good probes take about 2 s,
    # and what is tested is the order (good ones first), not the machine's speed.
    hanging_node = dataclasses.replace(hanging_node, login_timeout_s=4.0)
    config = _config(*good, down_node, hanging_node)
    seen: list[tuple[str, float]] = []
    t0 = time.monotonic()

    async def on_result(facts: NodeFacts) -> None:
        seen.append((facts.node, time.monotonic() - t0))

    facts = await check_nodes(config, on_result=on_result)
    wall = time.monotonic() - t0

    assert [f.node for f in facts] == ["g0", "g1", "g2", "g3", "down", "hanging"]
    by = {f.node: f for f in facts}
    for name in ("g0", "g1", "g2", "g3"):
        f = by[name]
        assert f.reachable and f.error is None, f
        assert f.python == platform.python_version()
        assert f.loadgen_version == LOADGEN
        assert f.os and f.os.startswith("Linux ")
        assert f.gpu_state == "no-nvidia-smi" and f.gpus == ()
        assert f.free_disk_bytes and f.free_disk_bytes > 0
        assert f.ready and f.elapsed_s is not None
    assert not by["down"].reachable and "refused" in (by["down"].error or "")
    assert not by["hanging"].reachable and "login" in (by["hanging"].error or "")
    # Good nodes and the refused one are reported before the hanging one gives up.
    order = [name for name, _ in seen]
    assert order[-1] == "hanging"
    assert max(at for name, at in seen if name != "hanging") < hanging_node.login_timeout_s
    assert wall < hanging_node.login_timeout_s + 3


async def test_gpus_from_the_nvidia_smi_double_are_parsed(ssh_node) -> None:
    """Two GPUs (GPU 1 reports utilization as [N/A]); a compute process on GPU 1 is a
    warning; configured gpus the node lacks are a warning too."""
    node = ssh_node("gpu", env={"PATH": DOUBLE_PATH, "NVSMI_DOUBLE_APPS": "1:4242"}, gpus=(0, 1, 3))
    [facts] = await check_nodes(_config(node))
    assert facts.gpu_state == "ok" and facts.driver == "550.54.15"
    g0, g1 = facts.gpus
    assert (g0.index, g0.name, g0.memory_total_mib, g0.memory_used_mib) == (
        0,
        "NVIDIA H100 80GB HBM3",
        81559.0,
        1024.0,
    )
    assert g0.utilization_pct == 0.0 and g1.utilization_pct is None
    assert g1.uuid and g1.uuid.startswith("GPU-")
    assert (g0.processes, g1.processes) == (0, 1)
    assert any("GPU 1" in w and "4242" in w for w in facts.warnings)
    assert any("[3]" in w for w in facts.warnings)
    assert facts.ready  # warnings do not stop a run


async def test_a_node_without_a_driver_says_so(ssh_node) -> None:
    node = ssh_node("nodrv", env={"PATH": DOUBLE_PATH, "NVSMI_DOUBLE_MODE": "no-driver"})
    [facts] = await check_nodes(_config(node))
    assert facts.gpu_state == "no-driver" and facts.gpus == ()


async def test_stray_audit_config_in_the_harness_dir_blocks_readiness(
    ssh_node, tmp_path: Path
) -> None:
    harness = tmp_path / "harness dir; $(x)"
    harness.mkdir()
    (harness / "audit.config").write_text("*.*.mode = 2\n")
    node = ssh_node("a1", vars={"repo": str(tmp_path)})
    bench = Benchmark("b", "true", 10, cwd="{repo}/harness dir; $(x)")
    later = Benchmark("c", "true", 10, cwd="{output_dir}")  # per-run: nothing to look at
    plan = Plan(
        (
            Stage(
                "s",
                "runs",
                (
                    RunSpec("r1", "a1", "b", Scenario.OFFLINE, Mode.PERFORMANCE, 10),
                    RunSpec("r2", "a1", "c", Scenario.OFFLINE, Mode.PERFORMANCE, 10),
                ),
            ),
        )
    )
    [facts] = await check_nodes(_config(node, benchmarks=(bench, later), plan=plan))
    assert facts.audit_config and not facts.ready
    assert any("audit.config" in w and str(harness) in w for w in facts.warnings)

    intended = Benchmark("b", "true", 10, cwd=str(harness), audit_config_intended=True)
    [facts] = await check_nodes(_config(node, benchmarks=(intended,), plan=plan))
    assert not facts.audit_config and facts.ready


async def test_the_same_probe_runs_on_the_controller(tmp_path: Path) -> None:
    node = NodeSpec("local", python=sys.executable, workdir=str(tmp_path / "w"))
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "audit.config").write_text("")
    facts = await probe(LocalTransport(node), [str(tmp_path / "h"), str(tmp_path / "none")])
    assert facts.reachable and facts.loadgen_version == LOADGEN
    assert facts.python == platform.python_version()
    assert facts.audit_config and facts.elapsed_s is not None


async def test_a_python_without_loadgen_is_not_ready(ssh_node) -> None:
    node = ssh_node("bare", python="/usr/bin/python3")
    [facts] = await check_nodes(_config(node))
    if facts.loadgen_version is not None:
        pytest.skip("the system python has LoadGen installed")
    assert facts.reachable and not facts.ready
    assert any("LoadGen does not import" in w for w in facts.warnings)


def test_parse_probe_reads_real_nvidia_smi_quirks() -> None:
    """Captured shapes: [Not Supported] fields, a GPU name with a comma-free long name, and
    an unrelated failure of nvidia-smi."""
    node = NodeSpec("n")
    out = (
        "os=Linux 6.1.0\npython=3.11.7\nloadgen=6.0.17\nsmi_rc=0\n"
        "smi=0, NVIDIA A100-SXM4-80GB, 81920, [Not Supported], 535.104.05, GPU-aaa, 97\n"
        "app=GPU-aaa, 77\napp=GPU-aaa, 78\ndisk_kb=1048576000\n"
    )
    f = parse_probe(node, out)
    [g] = f.gpus
    assert g.memory_used_mib is None and g.utilization_pct == 97.0 and g.processes == 2
    assert f.free_disk_bytes == 1048576000 * 1024 and f.driver == "535.104.05"
    failed = parse_probe(node, "smi_rc=6\nsmi=No devices were found\n")
    assert failed.gpu_state == "unknown" and any("exit 6" in w for w in failed.warnings)


async def test_table_and_json_show_every_node(ssh_node, down_node) -> None:
    facts = await check_nodes(_config(ssh_node("ok1"), down_node))
    table = facts_table(facts)
    assert table.splitlines()[0].split()[:3] == ["NODE", "STATUS", "OS"]
    assert "ok1" in table and "ready" in table and "unreachable" in table
    assert "down: error:" in table
    data = json.loads(json.dumps(facts_to_json(facts)))
    assert [d["node"] for d in data] == ["ok1", "down"]
    assert data[0]["ready"] is True and data[1]["reachable"] is False


async def test_the_probe_reads_what_a_submissions_system_description_asks(tmp_path: Path) -> None:
    # The controller's own /proc and /etc/os-release, read independently of the probe.
    node = NodeSpec("local", python=sys.executable, workdir=str(tmp_path))
    facts = await probe(LocalTransport(node))
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines()
                 if ln.startswith("model name"))  # fmt: skip
    assert facts.cpu_model == model
    mem_kb = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                  if ln.startswith("MemTotal:"))  # fmt: skip
    assert facts.memory_bytes == mem_kb * 1024
    release = Path("/etc/os-release").read_text().splitlines()
    pretty = next(ln.split("=", 1)[1].strip('"') for ln in release if ln.startswith("PRETTY_NAME="))
    assert facts.os_name == pretty
    assert facts.cpu_cores is None or facts.cpu_cores >= 1
