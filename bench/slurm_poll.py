"""What following a Slurm run costs the controller: one `SlurmTransport.status` poll (the
wrapper's files plus one `scontrol show job -o`, with the sacct fallback in the same shell),
and one submit (`sbatch --parsable` with the run's files written first).

Against the real localhost Slurm of the tests (tests/support/slurm.py: munged, slurmctld and
two slurmds on this machine): the poll's wall time includes slurmctld answering on the same
cores. The controller's CPU per poll counts this process and its children (sh, scontrol).

    python bench/slurm_poll.py [--polls 50]

Prints `slurm_submit_s`, `slurm_poll_s`, `slurm_poll_controller_cpu_ms` (medians), and the
polls per second one controller core could sustain at that CPU cost.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import tempfile
import time
from pathlib import Path

from figure_lines import figure, load_average, machine, median, note, spread, use_repo


def cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


async def main(polls: int) -> None:
    use_repo()
    from engine.model import NodeSpec, SlurmSpec
    from engine.transport.base import LaunchRequest
    from engine.transport.slurm import SlurmTransport
    from tests.support.slurm import slurm_missing_reason, start_cluster, stop_cluster

    if why := slurm_missing_reason():
        raise SystemExit(why)
    base = Path(tempfile.mkdtemp(prefix="mlc-slurm-bench-"))
    try:
        cluster = start_cluster(base)
        node = NodeSpec("cluster", "slurm", env=cluster.env, slurm=SlurmSpec(partition="debug"))
        t = SlurmTransport(node)
        submits, walls, cpus = [], [], []
        for i in range(3):
            d = str(base / "runs" / f"r{i}")
            t0 = time.perf_counter()
            h = await t.start(LaunchRequest(f"r{i}", d, "sleep 120", d))
            submits.append(time.perf_counter() - t0)
        for _ in range(polls):
            c0, t0 = cpu_s(), time.perf_counter()
            await t.status(h)
            walls.append(time.perf_counter() - t0)
            cpus.append(cpu_s() - c0)
        print(machine())
        note(f"load average {load_average()}; {polls} polls of one running job")
        figure("slurm_submit_s", f"{median(submits):.4f}")
        note(f"submit {spread(submits, 's')}")
        figure("slurm_poll_s", f"{median(walls):.4f}")
        note(f"poll {spread(walls, 's')}")
        cpu_ms = median(cpus) * 1000
        figure("slurm_poll_controller_cpu_ms", f"{cpu_ms:.1f}")
        figure("slurm_polls_per_core_s", f"{1000 / cpu_ms:.0f}" if cpu_ms else "missing")
    finally:
        stop_cluster(base)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--polls", type=int, default=50)
    asyncio.run(main(ap.parse_args().polls))
