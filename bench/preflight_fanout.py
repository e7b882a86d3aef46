"""Preflight fan-out: how long `engine.run.preflight.check_nodes` takes for 1, 8 and 32 SSH nodes.

Every node is a real SSH connection to a real OpenSSH sshd on 127.0.0.1 (started with the test
fixtures' code, tests/support/sshd.py), logged in with a key and its host key checked; the probe is
the real one-round-trip script (uname, the node's python importing LoadGen, nvidia-smi — absent
here —, df). What is NOT real: every node is this machine, so the figures measure mlconsole's
concurrency plus the node-side sshd/login/probe CPU on these same cores, not network latency;
the script prints that node-side CPU time too, so a figure bound by it can be told apart.

Layout: one sshd per 8 nodes (1 node: 1 sshd; 8: 1; 32: 4 sshds with 8 node entries each).
Eight is chosen because sshd's default `MaxStartups 10:30:100` starts dropping unauthenticated
connections beyond 10 at once; 8 logins in flight per sshd stay under it, as they would
against 32 separate hosts.

    python bench/preflight_fanout.py [--repeat 3]

Prints `preflight_1_s`, `preflight_8_s`, `preflight_32_s` (median wall seconds of `--repeat`
runs) and exits 0; exits 1 only if a node fails to answer (then the figure is meaningless).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time

from figure_lines import figure, load_average, machine, median, note, spread, use_repo

NODES_PER_SSHD = 8


async def fan_out(n: int, repeat: int) -> tuple[list[float], list[str]]:
    from engine.model import Config, Plan
    from engine.run.preflight import check_nodes
    from tests.support.sshd import ssh_lab

    times: list[float] = []
    problems: list[str] = []
    with ssh_lab() as lab:
        servers = [lab.server(i) for i in range((n + NODES_PER_SSHD - 1) // NODES_PER_SSHD)]
        nodes = {f"n{i:02d}": lab.node(f"n{i:02d}", servers[i // NODES_PER_SSHD]) for i in range(n)}
        config = Config(source="bench", nodes=nodes, benchmarks={}, plan=Plan())
        for _ in range(repeat):
            t0 = time.perf_counter()
            facts = await check_nodes(config)
            times.append(time.perf_counter() - t0)
            problems += [f"{f.node}: {f.error}" for f in facts if not f.reachable or f.error]
    return times, problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per node count (default 3)")
    args = parser.parse_args()
    use_repo()
    from tests.support.sshd import sshd_missing_reason

    print(f"machine: {machine()}")
    if reason := sshd_missing_reason():
        note(f"cannot run: {reason}")
        for n in (1, 8, 32):
            figure(f"preflight_{n}_s", None)
        return 0
    note(f"load average before: {load_average()}")
    failed = False
    for n in (1, 8, 32):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        times, problems = asyncio.run(fan_out(n, args.repeat))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the sshds were waited for
        node_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        figure(f"preflight_{n}_s", median(times))
        sshds = (n + NODES_PER_SSHD - 1) // NODES_PER_SSHD
        note(f"{n} nodes on {sshds} loopback sshd(s): {spread(times, 's')}")
        note(
            f"node-side CPU (sshd, login shells, probes) per preflight: "
            f"{node_cpu / args.repeat:.2f} s on {machine().split(',')[0]}"
        )
        for p in problems[:5]:
            note(f"problem: {p}")
        failed |= bool(problems)
    note(f"load average after: {load_average()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
