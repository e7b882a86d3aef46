"""The node probe: one POSIX sh script (the same over SSH, locally and inside a Slurm
allocation) that prints `key=value` lines (OS, the node's Python and LoadGen, nvidia-smi's
view of the GPUs and their compute processes, free disk under the work dir, stray
`audit.config` files in the harness directories), and `parse_probe`, which turns them into
`NodeFacts`. No I/O here: `engine.run.preflight` runs the script and fans it out.
"""

from __future__ import annotations

import csv
import dataclasses
import shlex
from collections.abc import Sequence

from engine.checks.compliance import MARKER
from engine.model import GpuInfo, NodeFacts, NodeSpec
from engine.run.audit_config import audit_config_sentence

GPU_FIELDS = "index,name,memory.total,memory.used,driver_version,uuid,utilization.gpu"
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
