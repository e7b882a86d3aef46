"""CPU spent on the "node side" of loopback SSH benchmarks: every process under the lab's sshd
masters (per-connection sshd children, login shells, node agents, probes, harnesses), read
from /proc while the masters live.

Why not `getrusage(RUSAGE_CHILDREN)`: it only counts children once they were waited for, and a
connection's processes are reaped by processes that may be killed at teardown, so their time
can vanish. Summing `utime + stime + cutime + cstime` of every live process in the tree counts
each CPU second once: a process that ended and was waited for left its time in its parent's
`cutime`. (A detached run that was re-parented to init is not counted; harness time is
counted by the scripts that start one separately.) Not a script (no `__main__`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from figure_lines import use_repo

use_repo()
from tests.support.processes import stat_fields  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")


def _table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, utime + stime + cutime + cstime in clock ticks)."""
    return {
        pid: (int(fields[1]), sum(int(x) for x in fields[11:15]))
        for pid, fields in stat_fields().items()
    }


def tree_cpu_s(roots: Iterable[int]) -> float:
    """CPU seconds of the processes rooted at `roots` (themselves included), so far."""
    roots = set(roots)
    table = _table()
    total = 0
    for pid, (_, ticks) in table.items():
        p = pid
        seen = 0
        while p not in roots and p > 1 and p in table and seen < 64:
            p = table[p][0]
            seen += 1
        if p in roots:
            total += ticks
    return total / _TICK


def tree_size(roots: Iterable[int]) -> int:
    """How many live processes are in the trees (the masters excluded)."""
    roots = set(roots)
    table = _table()
    count = 0
    for pid in table:
        p = pid
        seen = 0
        while p not in roots and p > 1 and p in table and seen < 64:
            p = table[p][0]
            seen += 1
        if p in roots and pid not in roots:
            count += 1
    return count
