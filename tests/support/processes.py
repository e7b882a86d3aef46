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
