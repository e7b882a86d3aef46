"""Preflight fan-out: `engine.run.preflight.check_nodes` for 1, 8 and 32 SSH nodes, and what one
probe costs the node on a connection that is already open.

Every node is a real SSH connection to a real OpenSSH sshd on 127.0.0.1 (tests/support/sshd.py),
logged in with a key and its host key checked; the probe is the real one (uname, the node's
python importing LoadGen, nvidia-smi — absent here —, df). What is NOT real: every node is
this machine, so the figures measure mlconsole's concurrency plus the node-side CPU (sshd,
the account's login shell, the node agent, the probe) on these same cores, not network
latency. That CPU is printed beside the times, with the lower bound it sets on the 32-node
wall time (node-side CPU / cores), so a figure bound by it can be told apart.

Layout: one sshd per 8 nodes (1 node: 1 sshd; 8: 1; 32: 4 sshds with 8 node entries each).
Eight because sshd's default `MaxStartups 10:30:100` drops unauthenticated connections
beyond 10 at once, as it would against 32 separate hosts.

Per probe: one connection, then `--probes` probes on it, node-side CPU per probe; once with
the node agent (the default: one login per connection) and once with `node_agent = false`
(one exec channel, so one login shell, per probe: how 0.1.0 probed).

    python bench/preflight_fanout.py [--repeat 3] [--probes 20]

Prints `preflight_1_s`, `preflight_8_s`, `preflight_32_s` (median wall seconds),
`preflight_32_over_1`, `preflight_32_node_cpu_bound_s`, `preflight_node_cpu_ms_per_node`,
`preflight_controller_cpu_ms_per_node`, `probe_node_cpu_ms`, `probe_node_cpu_exec_ms`;
exits 1 only if a node fails to answer (then the figures are meaningless).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import resource
import sys
import time

from figure_lines import figure, load_average, machine, median, note, spread, use_repo
from node_cpu import tree_cpu_s, tree_size

NODES_PER_SSHD = 8


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def _settle(masters: list[int], timeout: float = 10.0) -> None:
    """Wait until every connection's processes on the node side are gone (their CPU then sits
    in the masters' `cutime`)."""
    deadline = time.monotonic() + timeout
    while tree_size(masters) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


@dataclasses.dataclass
class Fanout:
    times: list[float] = dataclasses.field(default_factory=list)
    node_cpu: list[float] = dataclasses.field(default_factory=list)
    controller_cpu: list[float] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)


async def fan_out(n: int, repeat: int) -> Fanout:
    from engine.model import Config, Plan
    from engine.run.preflight import check_nodes
    from tests.support.sshd import ssh_lab

    out = Fanout()
    with ssh_lab() as lab:
        servers = [lab.server(i) for i in range((n + NODES_PER_SSHD - 1) // NODES_PER_SSHD)]
        masters = [s.proc.pid for s in servers]
        nodes = {f"n{i:02d}": lab.node(f"n{i:02d}", servers[i // NODES_PER_SSHD]) for i in range(n)}
        config = Config(source="bench", nodes=nodes, benchmarks={}, plan=Plan())
        await check_nodes(config)  # warm-up: imports, first key loads
        await _settle(masters)
        for _ in range(repeat):
            node0, ctrl0 = tree_cpu_s(masters), _self_cpu()
            t0 = time.perf_counter()
            facts = await check_nodes(config)
            out.times.append(time.perf_counter() - t0)
            out.controller_cpu.append(_self_cpu() - ctrl0)
            await _settle(masters)
            out.node_cpu.append(tree_cpu_s(masters) - node0)
            out.problems += [f"{f.node}: {f.error}" for f in facts if not f.reachable or f.error]
    return out


async def per_probe(probes: int, agent: bool) -> tuple[float, str]:
    """Node-side CPU seconds of one probe on an open connection, and how it was carried."""
    from engine.run.preflight import probe
    from engine.transport.ssh import SshTransport
    from tests.support.sshd import ssh_lab

    with ssh_lab() as lab:
        server = lab.server(0)
        node = lab.node("n0")
        if hasattr(node, "node_agent"):
            node = dataclasses.replace(node, node_agent=agent)
        transport = SshTransport(node)
        await transport.connect()
        await probe(transport)  # warm-up
        await asyncio.sleep(0.2)
        before = tree_cpu_s([server.proc.pid])
        for _ in range(probes):
            facts = await probe(transport)
        await asyncio.sleep(0.2)  # the last probe's processes have been waited for
        used = tree_cpu_s([server.proc.pid]) - before
        how = "node agent" if getattr(transport, "uses_agent", False) else "exec per probe"
        await transport.close()
        if facts.loadgen_version is None:
            how += f" (probe incomplete: {facts.error or facts.warnings})"
    return used / probes, how


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per node count (default 3)")
    parser.add_argument("--probes", type=int, default=20, help="probes per connection")
    args = parser.parse_args()
    use_repo()
    from tests.support.sshd import sshd_missing_reason

    print(f"machine: {machine()}")
    cores = os.cpu_count() or 1
    if reason := sshd_missing_reason():
        note(f"cannot run: {reason}")
        for n in (1, 8, 32):
            figure(f"preflight_{n}_s", None)
        return 0
    note(f"load average before: {load_average()}")
    failed = False
    walls: dict[int, float] = {}
    for n in (1, 8, 32):
        got = asyncio.run(fan_out(n, args.repeat))
        walls[n] = median(got.times)
        sshds = (n + NODES_PER_SSHD - 1) // NODES_PER_SSHD
        figure(f"preflight_{n}_s", walls[n])
        note(f"{n} nodes on {sshds} loopback sshd(s): {spread(got.times, 's')}")
        node_cpu, ctrl_cpu = median(got.node_cpu), median(got.controller_cpu)
        note(
            f"per preflight: node-side CPU {node_cpu:.3f} s ({1000 * node_cpu / n:.1f} ms a "
            f"node), controller CPU {ctrl_cpu:.3f} s ({1000 * ctrl_cpu / n:.1f} ms a node)"
        )
        if n == 32:
            bound = (node_cpu + ctrl_cpu) / cores
            figure("preflight_32_over_1", walls[32] / walls[1])
            figure("preflight_32_node_cpu_bound_s", node_cpu / cores)
            figure("preflight_32_cpu_bound_over_1", bound / walls[1])
            figure("preflight_node_cpu_ms_per_node", 1000 * node_cpu / n)
            figure("preflight_controller_cpu_ms_per_node", 1000 * ctrl_cpu / n)
            note(
                f"the 32 nodes' CPU (node side + controller) on {cores} cores takes at least "
                f"{bound:.2f} s, i.e. {bound / walls[1]:.2f}x one node's preflight, whatever "
                "the concurrency"
            )
        for p in got.problems[:5]:
            note(f"problem: {p}")
        failed |= bool(got.problems)
    agent_s, agent_how = asyncio.run(per_probe(args.probes, agent=True))
    exec_s, exec_how = asyncio.run(per_probe(args.probes, agent=False))
    figure("probe_node_cpu_ms", 1000 * agent_s)
    note(f"one probe on an open connection, {agent_how}; median of {args.probes}")
    figure("probe_node_cpu_exec_ms", 1000 * exec_s)
    note(f"the same, {exec_how} (a login shell per probe)")
    note(f"load average after: {load_average()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
