"""Preflight: what each node offers before anything runs on it.

One probe is one round trip: the script of `engine.run.node_probe` prints `key=value` lines
(OS, the node's Python and LoadGen, its GPUs, free disk, stray `audit.config` files) and
`parse_probe` turns them into `NodeFacts`. `check_nodes` probes the whole inventory at once,
so one dead or hanging node costs its own timeout and nobody else's; `facts_table` and
`facts_to_json` are what `mlconsole check` prints.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from engine.errors import MlconsoleError, NodeUnreachable
from engine.events import EventBus, NodeChecked, NodeStateChanged
from engine.model import Config, NodeFacts, NodeSpec, NodeState, RunSpec
from engine.run.container_preflight import probe_runtimes, runtime_sentence, runtimes_on
from engine.run.node_probe import parse_probe, probe_script
from engine.transport.base import Transport

PROBE_TIMEOUT_S = 30.0


async def probe(transport: Transport, benchmarks_cwds: Sequence[str] = ()) -> NodeFacts:
    """Probe a connected transport in one round trip. A node that answers but whose probe
    fails (timeout, shell error) is reachable with `error` set."""
    node = transport.node
    if node.transport == "slurm":  # the partition, then this probe inside an allocation
        from engine.run.slurm_preflight import slurm_probe

        return await slurm_probe(transport, benchmarks_cwds, probe_script, parse_probe)  # type: ignore[arg-type]
    t0 = time.monotonic()
    res = await transport.run_shell(probe_script(node, benchmarks_cwds), timeout=PROBE_TIMEOUT_S)
    elapsed = time.monotonic() - t0
    if res.exit_status != 0:
        reason = res.stderr.strip().splitlines()[-1] if res.stderr.strip() else "no output"
        return NodeFacts(
            node=node.name,
            reachable=True,
            elapsed_s=elapsed,
            error=f"the probe failed on node {node.name!r} (exit {res.exit_status}): {reason}",
        )
    return parse_probe(node, res.stdout, elapsed_s=elapsed)


def audit_cwds(config: Config, node: NodeSpec) -> list[str]:
    """The directories where the runs planned on `node` would have LoadGen read a stray
    audit.config (`engine.run.audit_config`, the rule the launch applies too): one per run,
    its benchmark's cwd rendered with that run's values. A group's shards are taken as their
    sizing leaves them unknown (0 samples); without a plan, every benchmark as a full-dataset
    run. A cwd in the run dir is left out: it is made fresh for each run."""
    from engine.run.audit_config import audit_config_dir

    specs = [r for stage in config.plan.stages for r in stage.runs if r.node == node.name]
    for stage in config.plan.stages:
        g = stage.group
        if g is not None and node.name in g.nodes:
            specs.append(
                RunSpec(f"{g.group_id}-{node.name}", node.name, g.benchmark, g.scenario, g.mode,
                        0, group_id=g.group_id, stage=g.name)
            )  # fmt: skip
    if not config.plan.stages:
        specs = [
            RunSpec(f"check-{b.name}", node.name, b.name, b.scenario, b.mode, b.dataset_size)
            for b in config.benchmarks.values()
        ]
    cwds: list[str] = []
    for spec in specs:
        bench = config.benchmarks.get(spec.benchmark)
        if bench is None or bench.audit_config_intended:
            continue
        cwd = audit_config_dir(node, bench, spec)
        if cwd is not None and cwd not in cwds:
            cwds.append(cwd)
    return cwds


async def check_node(
    node: NodeSpec,
    benchmarks_cwds: Sequence[str] = (),
    *,
    transport: Transport | None = None,
    runtimes: Sequence[str] = (),
) -> NodeFacts:
    """Connect, probe and close one node, within its own timeouts; never raises for the
    node's faults (they come back as `reachable=False` or `error`). `elapsed_s` is the
    whole check, connection included. With `transport`, that one is used (connected if it
    is not) and left open, so the runs that follow need no second login."""
    from engine.transport import open_transport

    t0 = time.monotonic()
    budget = node.connect_timeout_s + node.login_timeout_s + PROBE_TIMEOUT_S + 5.0
    keep = transport is not None
    transport = transport or open_transport(node)
    try:
        async with asyncio.timeout(budget):
            try:
                await transport.connect()
            except NodeUnreachable as exc:
                return NodeFacts(
                    node.name, reachable=False, error=exc.reason, elapsed_s=time.monotonic() - t0
                )
            facts = await probe(transport, benchmarks_cwds)
            if runtimes and facts.reachable:  # the container runtimes the plan uses here
                found = await probe_runtimes(transport, runtimes)
                # One that does not answer is a warning: the console and batch lines show those.
                bad = tuple(runtime_sentence(c) for c in found if not c.usable)
                facts = dataclasses.replace(facts, containers=found, warnings=facts.warnings + bad)
    except TimeoutError:
        return NodeFacts(
            node.name,
            reachable=False,
            elapsed_s=time.monotonic() - t0,
            error=f"no answer within {budget:g} s",
        )
    except MlconsoleError as exc:
        return NodeFacts(
            node.name, reachable=False, error=str(exc), elapsed_s=time.monotonic() - t0
        )
    finally:
        if not keep:
            try:
                await asyncio.wait_for(transport.close(), 5.0)
            except (TimeoutError, OSError, MlconsoleError):
                pass
    return dataclasses.replace(facts, elapsed_s=time.monotonic() - t0)


async def preflight_nodes(
    config: Config,
    names: Sequence[str],
    transport_for: Callable[[NodeSpec], Transport],
    bus: EventBus,
) -> list[NodeFacts]:
    """Probe the named nodes at once, each over `transport_for(node)` (left open), saying
    each node's state on `bus` (NodeStateChanged checking, then NodeChecked and ready or
    unreachable)."""

    async def one(name: str) -> NodeFacts:
        bus.publish(NodeStateChanged(name, NodeState.CHECKING))
        node = config.nodes[name]
        facts = await check_node(node, audit_cwds(config, node), transport=transport_for(node),
                                 runtimes=runtimes_on(config, node))  # fmt: skip
        bus.publish(NodeChecked(facts))
        state = NodeState.READY if facts.reachable else NodeState.UNREACHABLE
        bus.publish(NodeStateChanged(name, state, facts.error or "; ".join(facts.warnings)))
        return facts

    return list(await asyncio.gather(*(one(n) for n in names)))


OnResult = Callable[[NodeFacts], Awaitable[None] | None]


async def check_nodes(config: Config, *, on_result: OnResult | None = None) -> list[NodeFacts]:
    """Probe every node of `config` concurrently. `on_result(facts)` (sync or async) is
    called as each node finishes; the list comes back in the config's node order."""

    async def one(node: NodeSpec) -> NodeFacts:
        facts = await check_node(node, audit_cwds(config, node), runtimes=runtimes_on(config, node))
        if on_result is not None:
            out = on_result(facts)
            if inspect.isawaitable(out):
                await out
        return facts

    return list(await asyncio.gather(*(one(n) for n in config.nodes.values())))


# --- output -----------------------------------------------------------------------------------


def _gpu_cell(f: NodeFacts) -> str:
    if not f.reachable:
        return "-"
    if f.gpu_state != "ok":
        return f"none ({f.gpu_state})"
    names = sorted({g.name for g in f.gpus})
    if len(names) == 1:
        return f"{len(f.gpus)}x {names[0]}"
    return f"{len(f.gpus)} ({', '.join(names)})"


def _status(f: NodeFacts) -> str:
    if not f.reachable:
        return "unreachable"
    return "ready" if f.ready and not f.error else "not ready"


def facts_table(facts: Sequence[NodeFacts]) -> str:
    """A plain-text table, one row per node, then each node's error and warnings."""
    head = ("NODE", "STATUS", "OS", "PYTHON", "LOADGEN", "GPUS", "DRIVER", "FREE DISK", "TIME")
    rows = [head]
    for f in facts:
        rows.append(
            (
                f.node,
                _status(f),
                f.os or "-",
                f.python or "-",
                f.loadgen_version or "-",
                _gpu_cell(f),
                f.driver or "-",
                f"{f.free_disk_bytes / 2**30:.1f} GiB" if f.free_disk_bytes is not None else "-",
                f"{f.elapsed_s:.2f} s" if f.elapsed_s is not None else "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    for f in facts:
        if f.slurm is not None:
            from engine.run.slurm_preflight import partition_sentence

            lines.append(f"{f.node}: slurm: {partition_sentence(f.slurm)}")
        for c in (c for c in f.containers if c.usable):  # the others are warnings
            lines.append(f"{f.node}: container: {runtime_sentence(c)}")
        if f.error:
            lines.append(f"{f.node}: error: {f.error}")
        for w in f.warnings:
            lines.append(f"{f.node}: warning: {w}")
    return "\n".join(lines)


def facts_to_json(facts: Sequence[NodeFacts]) -> list[dict[str, Any]]:
    """JSON-ready dicts (one per node), with `ready` spelled out."""
    out = []
    for f in facts:
        d = dataclasses.asdict(f)
        d["ready"] = f.ready
        out.append(d)
    return out
