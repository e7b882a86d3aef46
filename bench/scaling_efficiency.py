#!/usr/bin/env python3
"""`scaling_efficiency_equal` and `scaling_efficiency_weighted`: what sizing shards by measured
speed buys a parallel group.

Two nodes, one 2.1x faster than the other (simulated speeds 40 and 84 samples/s, set through
node vars), each reached over SSH: a real OpenSSH server on 127.0.0.1 per node, with its own
host key, a client key and a known_hosts (`tests/support/sshd.py`), running the bundled harness
(real
LoadGen, simulated node). The real `Orchestrator` runs a config written to a temp dir:

1. a sweep: one single run of SWEEP_SAMPLES on each node (their wall throughputs are the
   weights of the weighted split and the denominators of the efficiency),
2. an equal group: TOTAL samples, half on each node,
3. a weighted group: TOTAL samples split by the sweep's measured throughput.

The figures are the group summaries' own `scaling_efficiency` (combined throughput over the
makespan / sum of the single-run throughputs), median over REPEATS passes, each pass on a
fresh results dir. The shards are several seconds long so that start-up (about 0.1 s for the
harness) does not dominate.

`--local` measures on local nodes instead; without sshd the script does so by itself and says
so in its output.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import tempfile
from pathlib import Path

from figure_lines import REPO, figure, load_average, machine, median, note, spread, use_repo

SPEEDS = {"slow": 40, "fast": 84}  # simulated samples/s: 2.1x
SWEEP_SAMPLES = 400
TOTAL = 800
REPEATS = 2
TARGET_WEIGHTED = 0.95


def demo_table() -> str:
    """The tests' `[benchmarks.demo]` (imported once `use_repo()` made tests importable)."""
    from tests.support.config_writer import demo_benchmark

    return "\n".join(demo_benchmark(user_conf='"demo.Offline.min_duration = 0"'))


def node_tables(root: Path, lab: object | None) -> str:
    """[nodes.*] for local nodes, or SSH nodes each on its own sshd of `lab`."""
    out = []
    for i, (name, speed) in enumerate(SPEEDS.items()):
        workdir = root / "nodes" / name
        workdir.mkdir(parents=True, exist_ok=True)
        if lab is None:
            out.append(
                f'[nodes.{name}]\ntransport = "local"\nworkdir = "{workdir}"\n'
                f"simulated = true\nvars = {{ speed = {speed} }}\n"
            )
            continue
        server = lab.server(i)  # type: ignore[attr-defined]
        out.append(
            f"[nodes.{name}]\n"
            'transport = "ssh"\n'
            'host = "127.0.0.1"\n'
            f"port = {server.port}\n"
            f'user = "{getpass.getuser()}"\n'
            f'identity_file = "{lab.client_key}"\n'  # type: ignore[attr-defined]
            f'known_hosts = "{lab.known_hosts}"\n'  # type: ignore[attr-defined]
            "use_agent = false\n"
            f'workdir = "{workdir}"\n'
            f'python = "{sys.executable}"\n'
            f'env = {{ PYTHONPATH = "{REPO}" }}\n'
            "simulated = true\n"
            f"vars = {{ speed = {speed} }}\n"
        )
    return "\n".join(out)


def plan_text() -> str:
    """A sweep (the singles), then a group of TOTAL samples per split, named for its split."""
    from tests.support.plans import plan_table

    nodes = list(SPEEDS)
    return plan_table(
        "sweep", name="sweep", nodes=nodes, benchmark="demo", samples=[SWEEP_SAMPLES]
    ) + "".join(
        plan_table("group", name=split, nodes=nodes, benchmark="demo", total_samples=TOTAL,
                   split=split)
        for split in ("equal", "weighted")
    )  # fmt: skip


def config_text(root: Path, lab: object | None) -> str:
    return f"""
[settings]
results_dir = "{root / "results"}"
reports_dir = "{root / "reports"}"

{node_tables(root, lab)}

{demo_table()}
{plan_text()}"""


async def one_pass(root: Path, lab: object | None) -> dict[str, dict]:
    """Run the plan once; the group summaries by group name, each with `fanout_s` added:
    seconds from the orchestrator's GroupStarted event to each shard's wrapper start (the
    node's `date`, the same clock here)."""
    import time

    from engine.config.load import load_config
    from engine.events import GroupStarted
    from engine.run.orchestrator import Orchestrator

    root.mkdir(parents=True)
    path = root / "scaling.toml"
    path.write_text(config_text(root, lab))
    orch = Orchestrator(load_config(path))
    group_started: dict[str, float] = {}

    def on_event(event: object) -> None:
        if isinstance(event, GroupStarted):
            group_started[event.name] = time.time()

    orch.bus.add_listener(on_event)
    try:
        outcome = await orch.run_plan()
    finally:
        await orch.close()
    if not outcome.ok:
        raise RuntimeError(f"runs failed: {outcome.failures}")
    groups = {}
    for g in orch.store.groups():
        summary = g.summary.to_json()
        t0 = group_started.get(summary["name"])
        summary["fanout_s"] = {
            sh["node"]: None if t0 is None or sh["start_unix"] is None else sh["start_unix"] - t0
            for sh in summary["shards"]
        }
        groups[summary["name"]] = summary
    return groups


def describe(group: dict) -> str:
    shards = group["shards"]
    split = ", ".join(
        f"{s['node']} {s['samples_requested']} samples in {s['duration_s']:.2f} s" for s in shards
    )
    ends = [s["end_unix"] for s in shards]
    fanout = ", ".join(f"{n} {v:.3f} s" for n, v in group["fanout_s"].items() if v is not None)
    singles = ", ".join(
        f"{n} {v:.2f}/s" for n, v in group["single_run_throughputs"].items() if v is not None
    )
    return (
        f"split {group['split']}: {split}; makespan {group['makespan_s']:.2f} s, combined "
        f"{group['combined_throughput']:.2f} samples/s vs singles {singles}; group start to "
        f"shard start: {fanout}; shard ends {max(ends) - min(ends):.2f} s apart"
    )


def start_lab():  # noqa: ANN201 - tests.support.sshd.SshLab | None, imported lazily
    """Two real sshds on 127.0.0.1, or None (with the reason printed) when that cannot be."""
    try:
        from tests.support.sshd import SshLab, sshd_missing_reason
    except ImportError as exc:
        note(f"tests/support/sshd.py not importable ({exc}); measuring on LOCAL nodes")
        return None
    if reason := sshd_missing_reason():
        note(f"{reason}; measuring on LOCAL nodes")
        return None
    try:
        lab = SshLab.create()
        lab.server(0)
        lab.server(1)
    except (RuntimeError, OSError) as exc:
        note(f"sshd did not start ({exc}); measuring on LOCAL nodes")
        return None
    return lab


async def main_async(local: bool) -> int:
    print(f"machine: {machine()}")
    lab = None if local else start_lab()
    effs: dict[str, list[float]] = {"equal": [], "weighted": []}
    spans: dict[str, list[float]] = {"equal": [], "weighted": []}
    fanouts: list[float] = []
    try:
        with tempfile.TemporaryDirectory(prefix="mlconsole-bench-scaling-") as tmp:
            for i in range(REPEATS):
                try:
                    groups = await one_pass(Path(tmp) / f"pass{i}", lab)
                except Exception as exc:  # noqa: BLE001 - fall back, and say why
                    if lab is None:
                        raise
                    note(f"the SSH pass failed ({type(exc).__name__}: {exc}); LOCAL nodes now")
                    lab.close()
                    lab = None
                    groups = await one_pass(Path(tmp) / f"pass{i}-local", lab)
                for name in ("equal", "weighted"):
                    g = groups[name]
                    if g["scaling_efficiency"] is not None:
                        effs[name].append(g["scaling_efficiency"])
                    if g["makespan_s"] is not None:
                        spans[name].append(g["makespan_s"])
                    if None not in g["fanout_s"].values():
                        fanouts.append(max(g["fanout_s"].values()))
                    note(
                        f"pass {i + 1} {name}: efficiency {g['scaling_efficiency']:.4f}; "
                        f"{describe(g)}; load average {load_average()}"
                    )
            where = "ssh (one real sshd per node on 127.0.0.1)" if lab is not None else "local"
    finally:
        if lab is not None:
            lab.close()
    figure("scaling_nodes", where)
    for name in ("equal", "weighted"):
        figure(f"scaling_efficiency_{name}", median(effs[name]))
        note(f"{name} efficiency spread: {spread(effs[name])}")
        figure(f"scaling_makespan_{name}_s", median(spans[name]))
        note(f"{name} makespan spread: {spread(spans[name], 's')}")
    figure("scaling_fanout_s", median(fanouts))
    note(
        f"group start to the last shard's start, both groups of every pass: {spread(fanouts, 's')}"
    )
    note(
        f"{TOTAL} samples over nodes at {SPEEDS['slow']} and {SPEEDS['fast']} simulated "
        f"samples/s; singles from a sweep of {SWEEP_SAMPLES} samples per node; target weighted "
        f">= {TARGET_WEIGHTED}"
    )
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--local", action="store_true", help="local nodes instead of loopback SSH")
    ns = ap.parse_args()
    use_repo()
    return asyncio.run(main_async(ns.local))


if __name__ == "__main__":
    sys.exit(main())
