"""Preflight of the container runtimes a plan uses on a node: does the runtime answer?

docker and podman are asked for `info` (docker's needs its daemon, so a client alone fails;
podman's reads its storage and runtime, so a podman that cannot run containers often fails
here already); enroot is usable when srun offers pyxis's `--container-image`. On a Slurm node
docker and podman are asked inside a short allocation (`srun --immediate`), where the runs
will be; pyxis is asked on the login host (its plugin is configured for every srun).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from engine.model import Config, ContainerSpec, NodeSpec, RuntimeFacts
from engine.transport.base import Transport
from engine.transport.containers import probe_argv

PROBE_TIMEOUT_S = 30.0
SRUN_WAIT_S = 15


def runtimes_on(config: Config, node: NodeSpec) -> tuple[str, ...]:
    """The runtimes of the containers the plan runs on `node` (benchmarks of its runs and
    groups, services of its fleet stages); without a plan, those of every table."""
    used: list[ContainerSpec | None] = []
    for stage in config.plan.stages:
        benches = {r.benchmark for r in stage.runs if r.node == node.name}
        if stage.group is not None and node.name in stage.group.nodes:
            benches.add(stage.group.benchmark)
        used += [config.benchmarks[b].container for b in benches if b in config.benchmarks]
        if stage.fleet is not None and node.name in stage.fleet.nodes:
            service = config.services.get(stage.fleet.service)
            used.append(service.container if service else None)
    if not config.plan.stages:
        used = [b.container for b in config.benchmarks.values()]
        used += [s.container for s in config.services.values()]
    return tuple(dict.fromkeys(c.runtime for c in used if c is not None))


def _where(transport: Transport, runtime: str, argv: list[str]) -> list[str]:
    """On a Slurm node, docker/podman are asked on a compute node of the partition."""
    node = transport.node
    if node.transport != "slurm" or runtime == "enroot":
        return argv
    from engine.transport.slurm import allocation_flags

    flags = allocation_flags(node.slurm) if node.slurm is not None else []
    return ["srun", *flags, "--ntasks=1", f"--immediate={SRUN_WAIT_S}",
            "--job-name=mlc-preflight", "--quiet", *argv]  # fmt: skip


async def probe_runtime(transport: Transport, runtime: str) -> RuntimeFacts:
    argv = _where(transport, runtime, probe_argv(ContainerSpec(runtime, "")))
    # A Slurm node's `sh` adds the node's env (SLURM_CONF, ...) on either hop.
    run = getattr(transport, "sh", transport.run_shell)
    res = await run(shlex.join(argv), timeout=PROBE_TIMEOUT_S + SRUN_WAIT_S)
    out = res.stdout.strip()
    if res.exit_status == 0:
        return RuntimeFacts(runtime, True, out.splitlines()[-1] if out else None)
    if runtime == "enroot":
        why = "srun has no --container-image: the pyxis plugin is not configured for srun"
    else:
        said = (res.stderr.strip() or out).splitlines()
        why = said[-1] if said else f"`{runtime} info` failed (exit {res.exit_status})"
        if res.exit_status == 127:
            why = f"{runtime} is not installed (or not on PATH)"
    return RuntimeFacts(runtime, False, None, why)


async def probe_runtimes(transport: Transport, runtimes: Sequence[str]) -> tuple[RuntimeFacts, ...]:
    return tuple([await probe_runtime(transport, r) for r in runtimes])


def runtime_sentence(c: RuntimeFacts) -> str:
    """One line for `mlconsole check`."""
    if c.usable:
        what = "pyxis (srun --container-image)" if c.runtime == "enroot" else c.runtime
        return f"{what} answers" + (f" (version {c.version})" if c.version else "")
    return f"{c.runtime} is not usable: {c.detail}"
