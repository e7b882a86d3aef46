"""256 node entries on one loopback sshd: preflight, a plan of one short run per node, and GPU
telemetry at 1 Hz for all of them, with the controller's cost per node.

Every node is a real SSH connection (real OpenSSH sshd on 127.0.0.1, tests/support/sshd.py,
default `MaxStartups`) under its own name, logged in with a key and its host key checked. The
runs are the bundled harness (the real LoadGen with SIMULATED node speeds, docs/harness.md);
the GPUs are the nvidia-smi test double (tests/support/doubles/nvidia-smi: no GPU exists here,
its numbers are made up). All 256 "nodes" are this machine, so node-side CPU (sshd, login
shells, agents, harnesses) shares the controller's cores; it is printed beside each figure.

Phases, each on its own connections:
  telemetry   one connection per node kept open (the controller's memory per connection),
              `sample_node` at 1 Hz for `--seconds`
  preflight   `check_nodes` of all 256 (connect, probe, close)
  plan        `Orchestrator.run_plan`: one stage, one run of `--samples` per node (after its
              preflight and LoadGen settings probe), telemetry at 1 Hz for each run

    python bench/fleet_256.py [--nodes 256] [--samples 40] [--seconds 10]

Figures: `preflight_256_s`, `preflight_256_controller_cpu_ms_per_node`,
`preflight_256_node_cpu_ms_per_node`, `plan_256_s`, `plan_256_controller_cpu_ms_per_node`,
`plan_256_succeeded`, `telemetry_256_batches_per_node_s`,
`telemetry_256_controller_cpu_ms_per_node_s`, `controller_kib_per_connection`,
`node_kib_per_connection`. Exits 1 when a node fails (the figures are then meaningless).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from pathlib import Path

from figure_lines import figure, load_average, machine, note, use_repo
from node_cpu import tree_cpu_s, tree_size


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _rss_kib(pid: str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _tree_rss_kib(root: int) -> int:
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        p, seen = int(entry.name), 0
        while p not in (root, 0, 1) and seen < 64:
            try:
                p = int(Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                break
            seen += 1
        if p == root and int(entry.name) != root:
            try:
                total += _rss_kib(entry.name)
            except OSError:
                pass
    return total


async def _settle(masters: list[int], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while tree_size(masters) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


def write_config(lab, server, root: Path, n: int, samples: int) -> Path:  # noqa: ANN001
    from tests.support.config_writer import demo_benchmark, ssh_node_table, toml_str
    from tests.support.paths import DOUBLES_DIR, REPO_ROOT

    names = [f"n{i:03d}" for i in range(n)]
    path = f"{DOUBLES_DIR}:/usr/bin:/bin"  # the nvidia-smi double first
    lines = [
        "[settings]",
        f"results_dir = {toml_str(root / 'results')}",
        f"reports_dir = {toml_str(root / 'reports')}",
        "poll_interval_s = 0.5",
        "telemetry_interval_s = 1.0",
        "",
    ]
    for name in names:
        lines += ssh_node_table(
            lab, name, server, root / "nodes" / name, speed=20,
            env={"PYTHONPATH": REPO_ROOT, "PATH": path}, extra=("login_timeout_s = 60",),
        )  # fmt: skip
    lines += [
        *demo_benchmark(),
        "",
        "[[plan]]",
        'kind = "run"',
        'name = "one-each"',
        f"nodes = [{', '.join(toml_str(x) for x in names)}]",
        'benchmark = "demo"',
        f"samples = {samples}",
    ]
    path = root / "fleet256.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def preflight(config, masters: list[int]) -> tuple[float, float, float, list[str]]:  # noqa: ANN001
    from engine.run.preflight import check_nodes

    node0, ctrl0, t0 = tree_cpu_s(masters), _self_cpu(), time.perf_counter()
    facts = await check_nodes(config)
    wall, ctrl = time.perf_counter() - t0, _self_cpu() - ctrl0
    await _settle(masters)
    problems = [f"{f.node}: {f.error}" for f in facts if not f.reachable or f.error]
    return wall, ctrl, tree_cpu_s(masters) - node0, problems


async def plan(config) -> tuple[float, float, int, int, list[str]]:  # noqa: ANN001
    from engine.run.orchestrator import Orchestrator

    orch = Orchestrator(config)
    ctrl0, t0 = _self_cpu(), time.perf_counter()
    try:
        outcome = await orch.run_plan()
    finally:
        await orch.close()
    wall, ctrl = time.perf_counter() - t0, _self_cpu() - ctrl0
    samples = 0
    for p in Path(config.settings.results_dir).glob("*/telemetry.csv"):
        samples += max(0, len(p.read_text().splitlines()) - 1)
    problems = [f"{rid}: {why}" for rid, why in outcome.failures]
    return wall, ctrl, len(outcome.succeeded), samples, problems


async def telemetry(config, seconds: float, server_pid: int) -> dict[str, float]:  # noqa: ANN001
    """Open a connection per node, then stream telemetry at 1 Hz from all of them. Memory per
    connection is the marginal one: the controller's RSS over the last seven eighths of the
    connections (the first eighth pays imports and warms the allocator)."""
    from engine.telemetry import sample_node
    from engine.transport.ssh import SshTransport

    transports = [SshTransport(node) for node in config.nodes.values()]
    warm = max(1, len(transports) // 8)
    await asyncio.gather(*(t.connect() for t in transports[:warm]))
    rss0, node_rss0 = _rss_kib(), _tree_rss_kib(server_pid)
    await asyncio.gather(*(t.connect() for t in transports[warm:]))
    rss1, node_rss1 = _rss_kib(), _tree_rss_kib(server_pid)
    counts = {t.node.name: 0 for t in transports}

    async def follow(t: SshTransport) -> None:
        async for batch in sample_node(t, t.node, 1.0):
            if batch.state == "ok" and batch.samples:
                counts[t.node.name] += 1

    tasks = [asyncio.create_task(follow(t)) for t in transports]
    await asyncio.sleep(5.0)  # every stream has started
    start = dict(counts)
    ctrl0, node0, t0 = _self_cpu(), tree_cpu_s([server_pid]), time.perf_counter()
    await asyncio.sleep(seconds)
    ctrl, wall = _self_cpu() - ctrl0, time.perf_counter() - t0
    node = tree_cpu_s([server_pid]) - node0
    got = {k: counts[k] - start[k] for k in counts}
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*(t.close() for t in transports))
    n, later = len(transports), len(transports) - warm
    return {
        "batches_per_node_s": sum(got.values()) / n / wall,
        "min_batches": min(got.values()),
        "ctrl_ms_per_node_s": 1000 * ctrl / n / wall,
        "node_cpu_share": node / wall,
        "kib_per_connection": (rss1 - rss0) / max(1, later),
        "node_kib_per_connection": (node_rss1 - node_rss0) / max(1, later),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=256)
    parser.add_argument("--samples", type=int, default=40, help="per run (at 20 samples/s)")
    parser.add_argument("--seconds", type=float, default=10.0, help="telemetry phase length")
    args = parser.parse_args()
    use_repo()
    import tempfile

    from engine.config.load import load_config
    from tests.support.sshd import ssh_lab, sshd_missing_reason

    print(f"machine: {machine()}")
    if reason := sshd_missing_reason():
        note(f"cannot run: {reason}")
        figure("preflight_256_controller_cpu_ms_per_node", None)
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    n = args.nodes
    failed = False
    with ssh_lab() as lab, tempfile.TemporaryDirectory(prefix="fleet256-") as tmp:
        server = lab.server(0)
        masters = [server.proc.pid]
        config = load_config(write_config(lab, server, Path(tmp), n, args.samples))
        note(f"{n} node entries on one sshd (port {server.port}); load {load_average()}")

        tel = asyncio.run(telemetry(config, args.seconds, server.proc.pid))
        figure(f"telemetry_{n}_batches_per_node_s", tel["batches_per_node_s"])
        figure(f"telemetry_{n}_controller_cpu_ms_per_node_s", tel["ctrl_ms_per_node_s"])
        figure("controller_kib_per_connection", tel["kib_per_connection"])
        figure("node_kib_per_connection", tel["node_kib_per_connection"])
        note(
            f"{n} open connections streaming at 1 Hz for {args.seconds:g} s; the slowest node "
            f"gave {tel['min_batches']} batches; node-side memory is sshd + agent; the "
            f"nvidia-smi double's loops (a few processes per tick) and the agents used "
            f"{tel['node_cpu_share']:.2f} cores meanwhile"
        )
        failed |= tel["min_batches"] < args.seconds * 0.5
        asyncio.run(_settle(masters))

        wall, ctrl, node, problems = asyncio.run(preflight(config, masters))
        figure(f"preflight_{n}_s", wall)
        figure(f"preflight_{n}_controller_cpu_ms_per_node", 1000 * ctrl / n)
        figure(f"preflight_{n}_node_cpu_ms_per_node", 1000 * node / n)
        note(f"node-side CPU {node:.2f} s over 2 cores bounds the wall time at {node / 2:.2f} s")
        failed |= bool(problems)
        for p in problems[:5]:
            note(f"problem: {p}")

        wall, ctrl, ok, samples, problems = asyncio.run(plan(config))
        figure(f"plan_{n}_s", wall)
        figure(f"plan_{n}_controller_cpu_ms_per_node", 1000 * ctrl / n)
        figure(f"plan_{n}_succeeded", ok)
        note(
            f"{n} runs of {args.samples} samples at 20 simulated samples/s; {samples} GPU "
            f"samples in their telemetry.csv files (2 GPUs per node, 1 Hz); load {load_average()}"
        )
        failed |= bool(problems) or ok != n
        for p in problems[:5]:
            note(f"problem: {p}")

    note(f"load average after: {load_average()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
