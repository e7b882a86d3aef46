"""What the tests see of processes on this machine, read from /proc."""

from __future__ import annotations

import subprocess
from pathlib import Path

# A process in one of these states has ended: a zombie waits for its parent (in a container,
# an init that reaps late) to collect it.
ENDED = ("Z", "X")


def stat_fields() -> dict[int, list[str]]:
    """pid -> the fields of /proc/PID/stat after the command name: [0] the state, [1] the
    parent pid, [2] the process group, [11:15] utime, stime, cutime, cstime in clock ticks.
    A process that ends while it is read is left out."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            out[int(stat.parent.name)] = stat.read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
    return out


def command_lines() -> dict[int, bytes]:
    """pid -> /proc/PID/cmdline (its arguments, NUL-separated), of every process readable."""
    out = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            out[int(proc.name)] = (proc / "cmdline").read_bytes()
        except OSError:
            continue
    return out


def live_group_members(pgid: int) -> list[int]:
    """Pids of the processes of process group `pgid` that are alive (not ended): the rule
    a cancel follows (`engine.transport.detach.cancel_script`)."""
    return [
        pid
        for pid, fields in stat_fields().items()
        if fields[2] == str(pgid) and fields[0] not in ENDED
    ]


def live_processes_naming(text: str) -> list[int]:
    """Pids of live (not ended) processes whose command line names `text` (a run dir): what
    is left of a run whose process group the test does not know (a Slurm job's)."""
    needle = text.encode()
    stats = stat_fields()
    return [
        pid
        for pid, cmdline in command_lines().items()
        if needle in cmdline and pid in stats and stats[pid][0] not in ENDED
    ]


def alive(pid: int) -> bool:
    """Whether `pid` is a process that has not ended."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ENDED


def stop(proc: subprocess.Popen, timeout_s: float = 5.0) -> None:
    """End a process the tests started: SIGTERM, then SIGKILL if it outlives `timeout_s`, and
    wait for it (nothing is left a zombie). A process that already ended is only reaped."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout_s)
