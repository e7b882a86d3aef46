"""What the tests see of processes on this machine, read from /proc."""

from __future__ import annotations

from pathlib import Path


def live_group_members(pgid: int) -> list[int]:
    """Pids of the processes of process group `pgid` that are alive (not zombies): the rule
    a cancel follows (`engine.transport.detach.cancel_script`). A zombie is a process that has
    ended and waits for its parent (in a container, an init that reaps late) to collect it."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            out.append(int(stat.parent.name))
    return out


def live_processes_naming(text: str) -> list[int]:
    """Pids of live (not zombie) processes whose command line names `text` (a run dir): what
    is left of a run whose process group the test does not know (a Slurm job's)."""
    out = []
    needle = text.encode()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes()
            state = (proc / "stat").read_text().rsplit(") ", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if needle in cmdline and state not in ("Z", "X"):
            out.append(int(proc.name))
    return out
