"""The detached-run wrapper shared by every transport.

A run is started as `setsid sh <run_dir>/launch.sh`: its own session and process group, stdin
from /dev/null, stdout/stderr to files in the run dir, and the exit code written to
`exit_code` when the harness ends. Nothing ties it to the controller's connection, so a
dropped link or a restarted console loses nothing; `pid` lets any later process find it again.

Values reach the shell only through `shlex.quote`; the harness command itself is written to
`command.sh` as data. The run's environment (the node's `env`, CUDA_VISIBLE_DEVICES) is given
to the process that starts the wrapper and inherited from there: it is never written into
launch.sh, so no kept file holds a token from `env`.
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable

from engine.errors import TransportError
from engine.transport.base import ProcessStatus, RunHandle, Transport

LAUNCH = "launch.sh"
COMMAND = "command.sh"
PID = "pid"
EXIT_CODE = "exit_code"
STARTED_AT = "started_at"
ENDED_AT = "ended_at"
STDOUT = "stdout.log"
STDERR = "stderr.log"

_ENV_NAME_OK = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def valid_env_name(name: str) -> bool:
    return bool(name) and not name[0].isdigit() and set(name) <= _ENV_NAME_OK


def launch_script(run_dir: str, cwd: str) -> str:
    """The wrapper script. Times come from the node's clock so a reconnect cannot skew them.
    It holds no environment values (they are inherited, see the module's docstring)."""
    q = shlex.quote
    d = q(run_dir)
    return (
        "#!/bin/sh\n"
        "# Written by mlconsole: runs the harness detached and records how it ended.\n"
        "# Its own files are the account's alone (a harness may print a secret); the harness\n"
        "# runs under the umask the node gave.\n"
        "mask=$(umask)\n"
        "umask 077\n"
        f"echo $$ > {d}/{PID}\n"
        f"date +%s.%N > {d}/{STARTED_AT} 2>/dev/null\n"
        f": > {d}/{STDOUT}; : > {d}/{STDERR}\n"
        'umask "$mask"\n'
        f"if cd {q(cwd)}; then\n"
        f"  sh {d}/{COMMAND} >> {d}/{STDOUT} 2>> {d}/{STDERR} < /dev/null\n"
        "  rc=$?\n"
        "else\n"
        "  rc=126\n"
        "fi\n"
        f"date +%s.%N > {d}/{ENDED_AT} 2>/dev/null\n"
        f"echo $rc > {d}/{EXIT_CODE}.tmp && mv {d}/{EXIT_CODE}.tmp {d}/{EXIT_CODE}\n"
        # The harness's code is the wrapper's too: a Slurm job that ran it ends FAILED 3:0.
        "exit $rc\n"
    )


def detach_line(run_dir: str) -> str:
    """The one shell line that starts the wrapper and prints its pid (= its process group)."""
    launch = shlex.quote(f"{run_dir}/{LAUNCH}")
    return f"setsid sh {launch} < /dev/null > /dev/null 2>&1 & echo $!"


def _parse_float(data: bytes) -> float | None:
    try:
        return float(data.decode().strip())
    except (UnicodeDecodeError, ValueError):
        return None


async def read_status(
    transport: Transport,
    handle: RunHandle,
    *,
    alive: Callable[[Transport, RunHandle], Awaitable[bool]] | None = None,
) -> ProcessStatus:
    """running / exited(code) / vanished, from the wrapper's files and /proc.

    Reads files only (no process spawned per poll). A pid whose /proc cmdline no longer names
    this run's launch.sh has been reused by something else: the run vanished. `alive`, when
    given, says instead of /proc whether the wrapper still runs (the local node's pidfd).
    """
    d = handle.run_dir
    started = _parse_float(await transport.read_from(f"{d}/{STARTED_AT}", 0, 64))

    async def exited() -> ProcessStatus | None:
        raw = await transport.read_from(f"{d}/{EXIT_CODE}", 0, 64)
        if not raw.strip():
            return None
        try:
            code = int(raw.decode().strip())
        except ValueError:
            code = -1
        ended = _parse_float(await transport.read_from(f"{d}/{ENDED_AT}", 0, 64))
        return ProcessStatus("exited", code, started, ended)

    if (st := await exited()) is not None:
        return st
    if await (alive or wrapper_alive)(transport, handle):
        return ProcessStatus("running", None, started)
    # The wrapper may have finished between the two reads.
    if (st := await exited()) is not None:
        return st
    return ProcessStatus("vanished", None, started)


async def wrapper_alive(transport: Transport, handle: RunHandle) -> bool:
    """Is `handle.pid` still this run's wrapper? /proc/<pid>/stat says whether the pid exists
    and is not a zombie; its cmdline must name this run's launch.sh, except while an exec is
    in progress, when the kernel briefly shows an empty cmdline."""
    stat = await transport.read_from(f"/proc/{handle.pid}/stat", 0, 512)
    if not stat:
        return False
    after_name = stat[stat.rfind(b")") + 1 :].split()
    if after_name and after_name[0] in (b"Z", b"X"):
        return False
    cmdline = await transport.read_from(f"/proc/{handle.pid}/cmdline", 0, 4096)
    if not cmdline:
        # A kernel thread (parent 0 or kthreadd, 2) also has an empty cmdline: a reused pid.
        return len(after_name) > 1 and after_name[1] not in (b"0", b"2")
    return LAUNCH.encode() in cmdline and handle.run_dir.encode() in cmdline


def cancel_script(pgid: int, grace_s: float) -> str:
    """TERM the group, wait up to `grace_s` for it to go, KILL, wait again; exit 0 when gone.

    "Gone" is read from /proc: a process whose pgrp is the group's and that is not a zombie.
    (`kill -0` would count zombies, which a container's init may never reap.)
    """
    term_ticks = max(1, round(grace_s * 10))
    return (
        f"pg={pgid}\n"
        "alive() {\n"
        "  for f in /proc/[0-9]*/stat; do\n"
        '    read -r line 2>/dev/null < "$f" || continue\n'
        "    set -- ${line##*) }\n"
        '    [ "$3" = "$pg" ] && [ "$1" != Z ] && return 0\n'
        "  done\n"
        "  return 1\n"
        "}\n"
        "wait_gone() {\n"
        "  i=0\n"
        '  while [ "$i" -lt "$1" ]; do\n'
        "    alive || return 0\n"
        "    sleep 0.1\n"
        "    i=$((i + 1))\n"
        "  done\n"
        "  ! alive\n"
        "}\n"
        "alive || exit 0\n"
        "kill -TERM -$pg 2>/dev/null\n"
        f"wait_gone {term_ticks} && exit 0\n"
        "kill -KILL -$pg 2>/dev/null\n"
        "wait_gone 30 && exit 0\n"
        "echo still running >&2\n"
        "exit 1\n"
    )


async def cancel_run(
    transport: Transport, handle: RunHandle, node: str, *, grace_s: float = 5.0
) -> None:
    """TERM the run's process group, KILL it after `grace_s`, and wait until /proc shows
    none of it alive (zombies do not count); the same on every transport. A pid that is no
    longer this run's wrapper (vanished, reused) is left alone. Raises TransportError when
    the group survives TERM and KILL, naming the node and the group."""
    st = await transport.status(handle)
    if st.state == "vanished":
        return
    if st.state == "exited":
        # The wrapper is done; only orphans of the run can still hold its group, and only
        # while the leader's pid is free (otherwise the number may belong to someone else).
        if await transport.size(f"/proc/{handle.pid}/stat") is not None:
            return
    res = await transport.run_shell(cancel_script(handle.pid, grace_s), timeout=grace_s + 10)
    if res.exit_status != 0:
        raise TransportError(
            f"run {handle.run_id} on node {node!r} did not stop after TERM and KILL "
            f"(process group {handle.pid}): {res.stderr.strip() or 'no reason given'}"
        )
