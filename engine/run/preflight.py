"""Preflight: what each node offers before anything runs on it.

One probe is one round trip: a POSIX sh script (the same over SSH and locally) prints
`key=value` lines — OS, the node's Python and LoadGen, nvidia-smi's view of the GPUs and
their compute processes, free disk under the work dir, and stray `audit.config` files in the
harness directories — and `parse_probe` turns them into `NodeFacts`. `check_nodes` probes the
whole inventory at once, so one dead or hanging node costs its own timeout and nobody else's.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import inspect
import shlex
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from engine.errors import MlconsoleError, NodeUnreachable
from engine.events import EventBus, NodeChecked, NodeStateChanged
from engine.model import Config, GpuInfo, NodeFacts, NodeSpec, NodeState, RunSpec
from engine.checks.compliance import MARKER
from engine.run.audit_config import audit_config_sentence
from engine.run.container_preflight import probe_runtimes, runtime_sentence, runtimes_on
from engine.transport.base import Transport

GPU_FIELDS = "index,name,memory.total,memory.used,driver_version,uuid,utilization.gpu"
PROBE_TIMEOUT_S = 30.0
LOW_DISK_BYTES = 1 << 30  # under 1 GiB free, LoadGen's detail log alone may not fit

_NO_DRIVER_MARKERS = (
    "couldn't communicate with the nvidia driver",
    "nvidia-smi has failed",
)

# Runs under the node's python. Prints python=, then loadgen= (a version) or loadgen_error=.
# mlperf_loadgen has no __version__, so the version comes from the distribution that owns it:
# first the `*.dist-info` directory beside the module (a directory listing), and only when
# that fails importlib.metadata, whose import and scan cost several times the rest together.
_PY_SNIPPET = """\
import sys
print("python=" + sys.version.split()[0])
try:
    import mlperf_loadgen
except BaseException as exc:
    text = (type(exc).__name__ + ": " + str(exc)).replace("\\n", " ")
    print("loadgen_error=" + text[:300])
else:
    import os
    version = None
    try:
        here = os.path.dirname(os.path.abspath(mlperf_loadgen.__file__))
        for name in sorted(os.listdir(here)):
            low = name.lower()
            if low.endswith(".dist-info") and low.split("-")[0] in (
                "mlcommons_loadgen", "mlperf_loadgen"
            ):
                version = name[len(name.split("-")[0]) + 1 : -len(".dist-info")]
    except Exception:
        pass
    if not version:
        try:
            from importlib import metadata
            names = metadata.packages_distributions().get("mlperf_loadgen", [])
            for dist in [*names, "mlcommons-loadgen", "mlcommons_loadgen", "mlperf-loadgen"]:
                try:
                    version = metadata.version(dist)
                    break
                except Exception:
                    pass
        except Exception:
            pass
    print("loadgen=" + (version or "?"))
"""


def probe_script(node: NodeSpec, benchmarks_cwds: Sequence[str] = ()) -> str:
    """The sh script of one probe; every configured value in it is shell-quoted."""
    q = shlex.quote
    cwds = " ".join(q(c) for c in benchmarks_cwds)
    return (
        f"py={q(node.python)}\n"
        'echo "os=$(uname -sr 2>/dev/null)"\n'
        # What a submission's systems/<system>.json asks about the host (engine.submission).
        '[ -r /etc/os-release ] && (. /etc/os-release; echo "os_name=$PRETTY_NAME")\n'
        "if [ -r /proc/cpuinfo ]; then\n"
        "  awk -F': *' '/^model name/ && !m {print \"cpu_model=\" $2; m=1}\n"
        '    /^physical id/ {s[$2]=1} /^cpu cores/ && !c {print "cpu_cores=" $2; c=1}\n'
        '    END {n=0; for (k in s) n++; print "cpu_sockets=" n}\' /proc/cpuinfo\n'
        "fi\n"
        "awk '/^MemTotal:/ {print \"mem_kb=\" $2}' /proc/meminfo 2>/dev/null\n"
        'if command -v "$py" >/dev/null 2>&1; then\n'
        f'  "$py" -c {q(_PY_SNIPPET)} 2>&1 | head -n 20\n'
        "else\n"
        '  echo "python_missing=$py"\n'
        "fi\n"
        "if command -v nvidia-smi >/dev/null 2>&1; then\n"
        f"  out=$(nvidia-smi --query-gpu={GPU_FIELDS} --format=csv,noheader,nounits 2>&1)\n"
        '  echo "smi_rc=$?"\n'
        '  printf "%s\\n" "$out" | while IFS= read -r l; do echo "smi=$l"; done\n'
        "  nvidia-smi --query-compute-apps=gpu_uuid,pid --format=csv,noheader 2>/dev/null |\n"
        '    while IFS= read -r l; do echo "app=$l"; done\n'
        "else\n"
        '  echo "smi_missing=1"\n'
        "fi\n"
        f"d={q(node.workdir)}\n"
        'while [ ! -d "$d" ]; do d=$(dirname -- "$d"); done\n'
        'df -Pk -- "$d" 2>/dev/null | awk \'NR == 2 { print "disk_kb=" $4 }\'\n'
        f"for c in {cwds}; do\n"
        '  if [ -e "$c/audit.config" ]; then\n'
        f'    if head -n 1 "$c/audit.config" | grep -q {q("^" + MARKER)}; then\n'
        '      rm -f -- "$c/audit.config" && echo "audit_removed=$c" || echo "audit=$c"\n'
        "    else\n"
        '      echo "audit=$c"\n'
        "    fi\n"
        "  fi\n"
        "done\n"
        "exit 0\n"
    )


def _number(text: str) -> float | None:
    """A numeric nvidia-smi field; `[N/A]`, `[Not Supported]` and friends are None."""
    text = text.strip()
    if not text or text.startswith("["):
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _count(text: str | None) -> int | None:
    """A positive whole number from the probe, else None (0 sockets: /proc/cpuinfo lists no
    `physical id`, as in some VMs)."""
    return int(text) if text and text.strip().isdigit() and int(text) > 0 else None


def _text(text: str) -> str | None:
    text = text.strip()
    return None if not text or text.startswith("[") else text


def _gpu(row: list[str]) -> GpuInfo | None:
    if len(row) < 7:
        return None
    index = _number(row[0])
    if index is None:
        return None
    return GpuInfo(
        index=int(index),
        name=_text(row[1]) or "?",
        memory_total_mib=_number(row[2]),
        memory_used_mib=_number(row[3]),
        driver=_text(row[4]),
        uuid=_text(row[5]),
        utilization_pct=_number(row[6]),
    )


def _csv_row(line: str) -> list[str]:
    return next(csv.reader([line], skipinitialspace=True), [])


def parse_probe(node: NodeSpec, stdout: str, *, elapsed_s: float | None = None) -> NodeFacts:
    """NodeFacts from the probe script's output (pure: no I/O, testable on captured text)."""
    values: dict[str, str] = {}
    smi_lines: list[str] = []
    apps: list[str] = []
    audits: list[str] = []
    removed: list[str] = []
    for line in stdout.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if key == "smi":
            smi_lines.append(value)
        elif key == "app":
            apps.append(value)
        elif key == "audit":
            audits.append(value)
        elif key == "audit_removed":
            removed.append(value)
        else:
            values.setdefault(key, value)

    warnings: list[str] = []
    if not node.verify_host_key and node.transport == "ssh":
        warnings.append("host key NOT verified (verify_host_key = false)")
    if "python_missing" in values:
        warnings.append(f"python {values['python_missing']!r} not found on the node")
    loadgen = values.get("loadgen")
    if loadgen == "?":
        loadgen = "unknown"
        warnings.append("LoadGen imports, but its version could not be read")
    if "loadgen_error" in values:
        warnings.append(f"LoadGen does not import with {node.python}: {values['loadgen_error']}")

    gpus: list[GpuInfo] = []
    gpu_state = "unknown"
    if "smi_missing" in values:
        gpu_state = "no-nvidia-smi"
    else:
        joined = "\n".join(smi_lines).strip()
        if any(m in joined.lower() for m in _NO_DRIVER_MARKERS):
            gpu_state = "no-driver"
        elif values.get("smi_rc") == "0":
            gpus = [g for g in (_gpu(_csv_row(s)) for s in smi_lines if s.strip()) if g]
            if gpus:
                gpu_state = "ok"
            else:
                warnings.append(f"nvidia-smi listed no GPU ({joined[:120] or 'no output'})")
        elif "smi_rc" in values:
            first = joined.splitlines()[0] if joined else "no output"
            warnings.append(f"nvidia-smi failed (exit {values['smi_rc']}): {first[:160]}")

    busy: dict[str, list[str]] = {}
    for app in apps:
        row = _csv_row(app)
        if len(row) >= 2 and row[0].strip().startswith("GPU-"):
            busy.setdefault(row[0].strip(), []).append(row[1].strip())
    gpus = [dataclasses.replace(g, processes=len(busy.get(g.uuid or "", []))) for g in gpus]
    for g in gpus:
        pids = busy.get(g.uuid or "", [])
        if pids:
            warnings.append(
                f"GPU {g.index} ({g.name}) already runs {len(pids)} compute process"
                f"{'es' if len(pids) > 1 else ''} (pid {', '.join(pids)}); a run there shares it"
            )
    if node.gpus is not None and gpu_state == "ok":
        absent = sorted(set(node.gpus) - {g.index for g in gpus})
        if absent:
            warnings.append(
                f"configured gpus {absent} are not among the GPUs nvidia-smi lists "
                f"({[g.index for g in gpus]})"
            )

    free: int | None = None
    if (kb := values.get("disk_kb", "")).isdigit():
        free = int(kb) * 1024
        if free < LOW_DISK_BYTES:
            warnings.append(f"only {free / 2**20:.0f} MiB free under {node.workdir}")
    warnings += [audit_config_sentence(cwd, node.name) for cwd in audits]
    warnings += [
        f"removed the audit.config a compliance run left in {cwd} (the run was cancelled or "
        "the controller stopped before it could remove it); it is gone now"
        for cwd in removed
    ]

    return NodeFacts(
        node=node.name,
        reachable=True,
        os=values.get("os") or None,
        os_name=values.get("os_name") or None,
        cpu_model=values.get("cpu_model") or None,
        cpu_cores=_count(values.get("cpu_cores")),
        cpu_sockets=_count(values.get("cpu_sockets")),
        memory_bytes=(_count(values.get("mem_kb")) or 0) * 1024 or None,
        python=values.get("python"),
        loadgen_version=loadgen,
        gpus=tuple(gpus),
        gpu_state=gpu_state,
        driver=next((g.driver for g in gpus if g.driver), None),
        free_disk_bytes=free,
        audit_config=bool(audits),
        warnings=tuple(warnings),
        elapsed_s=elapsed_s,
    )


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
