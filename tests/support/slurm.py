"""A real Slurm on localhost for the Slurm tests (a pytest plugin): munged, slurmctld and two
slurmds (node1, node2) started by `slurm-localhost.sh` beside this file, in a temp dir, on a
free port range, once per session by the one xdist worker that runs the `slurm` group.

Partitions: `debug` (both nodes, the default) and `down` (node1, State=DOWN). No GPUs, no
cgroups: a GRES request is refused, OUT_OF_MEMORY cannot happen (tests/data/slurm holds the
records those mappings are tested on). Jobs run as root with the venv's python, on the same
file system as the tests (Slurm sites share one too).
"""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("slurm-localhost.sh")
NODES = 2
EXTRA = "PartitionName=down Nodes=node1 State=DOWN"


def slurm_missing_reason() -> str | None:
    for path in ("/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/bin/sbatch"):
        if not os.path.exists(path):
            return f"Slurm is not installed ({path} is absent): run .ci/ensure-slurm"
    return None


def _free_base(span: int = NODES + 1) -> int:
    """A port P with P..P+span free (slurmctld on P, slurmd i on P+i)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        if base + span > 65000:
            continue
        ok = True
        for p in range(base, base + span + 1):
            with socket.socket() as t:
                try:
                    t.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port range for slurmctld/slurmd")


@dataclass(frozen=True)
class SlurmCluster:
    dir: Path
    conf: Path

    @property
    def env(self) -> dict[str, str]:
        """What a client needs: SLURM_CONF (it names the munge socket)."""
        return {"SLURM_CONF": str(self.conf)}

    def cmd(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv), env={**os.environ, **self.env, "SLURM_TIME_FORMAT": "%s"},
            capture_output=True, text=True, check=check, timeout=60,
        )  # fmt: skip

    def job_state(self, job_id: str) -> str:
        out = self.cmd("scontrol", "show", "job", "-o", job_id).stdout
        for part in out.split():
            if part.startswith("JobState="):
                return part.split("=", 1)[1]
        return "UNKNOWN"

    def node_toml(self, name: str, workdir: Path, slurm: str = 'partition = "debug"') -> str:
        """A [nodes.NAME] table for this cluster (the jobs find SLURM_CONF in env)."""
        return (
            f'[nodes.{name}]\ntransport = "slurm"\nworkdir = "{workdir}"\n'
            f'env = {{ SLURM_CONF = "{self.conf}" }}\nsimulated = true\nvars = {{ speed = 100 }}\n'
            f"[nodes.{name}.slurm]\n{slurm}\n"
        )


def start_cluster(base: Path) -> SlurmCluster:
    env = {**os.environ, "SLURM_LOCAL_PORT": str(_free_base()), "SLURM_LOCAL_EXTRA": EXTRA}
    res = subprocess.run(
        ["bash", str(SCRIPT), "start", str(base), str(NODES)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if res.returncode != 0:
        stop_cluster(base)
        raise RuntimeError(f"slurm-localhost start failed: {res.stderr.strip()[-2000:]}")
    return SlurmCluster(base, base / "etc" / "slurm.conf")


def stop_cluster(base: Path) -> None:
    subprocess.run(
        ["bash", str(SCRIPT), "stop", str(base)], capture_output=True, timeout=120, check=False
    )
