"""Preflight of a Slurm node: the partition (exists, up, idle and allocated nodes, GRES on
offer, MaxTime), the user's limits where accounting has them, and the node probe itself run
inside a short allocation (`srun --immediate`), so the Python, LoadGen, GPUs and disk it
reports are a compute node's, not the login host's.

Three round trips: sinfo + scontrol + sacctmgr in one script, then the srun. A partition that
is missing or down gets no srun (it would wait for nothing); a partition with no free node
gets one that gives up after `SRUN_WAIT_S` and says so.
"""

from __future__ import annotations

import dataclasses
import shlex
import time
from collections.abc import Callable, Sequence

from engine.model import NodeFacts, NodeSpec, PartitionFacts
from engine.transport.slurm import SlurmTransport, allocation_flags

SRUN_WAIT_S = 15  # --immediate: how long the probe's allocation may wait for a node
PROBE_TIMEOUT_S = 60.0

_MARK = "#mlc-"


def partition_script(partition: str | None) -> str:
    p = f"-p {shlex.quote(partition)} " if partition else ""
    return (
        f"echo '{_MARK}sinfo'; sinfo -h {p}-o '%P|%a|%D|%t|%G' 2>&1\n"
        f"echo '{_MARK}part'; scontrol show partition -o {shlex.quote(partition or '')} 2>&1\n"
        f"echo '{_MARK}assoc'; sacctmgr -n -P show assoc user=\"$(id -un)\" "
        "format=account,partition,qos,maxjobs,maxsubmit,maxwall,grptres 2>&1\n"
    )


def _sections(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith(_MARK):
            current = line[len(_MARK) :].strip()
            out[current] = []
        elif current and line.strip():
            out[current].append(line.strip())
    return out


def parse_partition(partition: str | None, text: str) -> PartitionFacts:
    """PartitionFacts from `partition_script`'s output (pure). With no partition named, the
    default one (sinfo marks it `*`)."""
    sec = _sections(text)
    rows = [r.split("|") for r in sec.get("sinfo", []) if r.count("|") >= 4]
    if partition is None:
        defaults = [r[0] for r in rows if r[0].endswith("*")]
        partition = defaults[0] if defaults else (rows[0][0] if rows else "(default)")
    name = partition.rstrip("*")
    mine = [r for r in rows if r[0].rstrip("*") == name]
    if not mine:
        return PartitionFacts(name, exists=False)
    states: dict[str, int] = {}
    gres: list[str] = []
    for r in mine:
        state = r[3].rstrip("*~#!%$@^-")
        states[state] = states.get(state, 0) + (int(r[2]) if r[2].isdigit() else 0)
        if r[4] not in ("(null)", "") and r[4] not in gres:
            gres.append(r[4])
    max_time = None
    for part in " ".join(sec.get("part", [])).split():
        if part.startswith("MaxTime="):
            max_time = part.split("=", 1)[1]
    assoc = [a for a in sec.get("assoc", []) if "|" in a and "error" not in a.lower()]
    limits = "; ".join(assoc) if assoc else None
    return PartitionFacts(
        name,
        exists=True,
        up=mine[0][1] == "up",
        node_states=states,
        gres=tuple(gres),
        max_time=max_time,
        limits=limits,
    )


def partition_sentence(p: PartitionFacts) -> str:
    """One line for `mlconsole check`: what the partition offers now."""
    if not p.exists:
        return f"partition {p.partition} does not exist"
    counts = ", ".join(f"{n} {s}" for s, n in sorted(p.node_states.items()))
    return (
        f"partition {p.partition} {'up' if p.up else 'DOWN'}: {p.idle} idle, "
        f"{p.allocated} allocated ({counts}); GRES {', '.join(p.gres) or 'none'}; "
        f"MaxTime {p.max_time or 'unknown'}; user limits "
        f"{p.limits or 'not available (no accounting database)'}"
    )


async def slurm_probe(
    transport: SlurmTransport,
    benchmarks_cwds: Sequence[str],
    probe_script: Callable[[NodeSpec, Sequence[str]], str],
    parse_probe: Callable[..., NodeFacts],
) -> NodeFacts:
    """The partition's facts, then the node probe inside an allocation."""
    node = transport.node
    spec = transport.spec
    t0 = time.monotonic()
    res = await transport.sh(partition_script(spec.partition), timeout=PROBE_TIMEOUT_S)
    part = parse_partition(spec.partition, res.stdout)
    base = NodeFacts(node.name, reachable=True, slurm=part)
    if not part.exists:
        listed = res.stdout.count("|") and "see `sinfo`" or "sinfo answered nothing"
        return dataclasses.replace(
            base,
            error=f"Slurm partition {part.partition} does not exist ({listed})",
            elapsed_s=time.monotonic() - t0,
        )
    if not part.up:
        return dataclasses.replace(
            base,
            error=f"Slurm partition {part.partition} is down: jobs wait (PartitionDown)",
            elapsed_s=time.monotonic() - t0,
        )
    srun = [
        "srun", *allocation_flags(spec), "--ntasks=1", f"--immediate={SRUN_WAIT_S}",
        "--job-name=mlc-preflight", "--quiet", "sh", "-c", probe_script(node, benchmarks_cwds),
    ]  # fmt: skip
    res = await transport.sh(shlex.join(srun), timeout=PROBE_TIMEOUT_S + SRUN_WAIT_S)
    elapsed = time.monotonic() - t0
    if res.exit_status != 0:
        said = res.stderr.strip().splitlines()[-1] if res.stderr.strip() else "no output"
        return dataclasses.replace(
            base,
            error=f"the probe inside an allocation failed (srun exit {res.exit_status}): {said}",
            elapsed_s=elapsed,
        )
    facts = parse_probe(node, res.stdout, elapsed_s=elapsed)
    return dataclasses.replace(facts, slurm=part)
