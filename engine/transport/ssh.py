"""SSH nodes over asyncssh: the same detached-run protocol as `LocalTransport`.

One connection per node carries everything: short commands, streams (`nvidia-smi -lms`) and
one SFTP client that stays open for file reads and writes. Tails read files by byte offset
over SFTP (open, seek, read), so polling spawns no process on the node and a reconnect resumes
exactly where it stopped. Runs are started detached (`engine.transport.detach`), so a dropped
link costs nothing on the node: the caller sees `LinkLost`, calls `connect()` again (with
backoff) and carries on.

Channels: OpenSSH refuses sessions beyond its `MaxSessions` (default 10) per connection. The
SFTP client holds one; commands and streams share `node.max_sessions - 1` more, so at most
`node.max_sessions` are ever open at once.
"""

from __future__ import annotations

import asyncio
import shlex
import signal
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import LaunchRefused, LinkLost, NodeUnreachable, TransportError
from engine.model import NodeSpec
from engine.transport import detach
from engine.transport.base import (
    CommandResult,
    FetchReport,
    LaunchRequest,
    ProcessStatus,
    RunHandle,
)
from engine.transport.ssh_connect import LinkState, open_connection
from engine.transport.ssh_paths import check_node_path, check_safe_component

if TYPE_CHECKING:
    import asyncssh

# OpenSSH's sftp-server answers reads of at most ~256 KiB; asking for more only splits them.
_MAX_READ = 256 * 1024
# One SFTP request (open, read, stat ...) that takes longer means the session is wedged.
SFTP_OP_TIMEOUT_S = 60.0


def _cancel_script(pgid: int, grace_s: float) -> str:
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


def _exit_code(exit_status: int | None, exit_signal: Any) -> int | None:
    if exit_status is not None:
        return exit_status
    if exit_signal:
        try:
            return 128 + signal.Signals[f"SIG{exit_signal[0]}"].value
        except KeyError:
            return 255
    return None


async def _close_file(f: Any) -> None:
    """Close a remote file handle without ever hanging a cleanup: when the task is being
    cancelled (shutdown cancels asyncssh's own reader task too, so no reply would come) the
    handle is left to the end of the SFTP session."""
    import asyncssh

    task = asyncio.current_task()
    if task is not None and task.cancelling():
        return
    try:
        await asyncio.wait_for(f.close(), 5.0)
    except (TimeoutError, asyncssh.Error, OSError):
        pass


class SshPortForward:
    """An asyncssh local port forward (one listener; one SSH channel per connection)."""

    def __init__(self, listener: Any) -> None:
        self._listener = listener
        self.local_port = int(listener.get_port())

    def close(self) -> None:
        self._listener.close()


class SshTransport:
    """A node reached over SSH. Not connected until `connect()`; after `LinkLost`,
    `connected` is False and `connect()` opens a fresh connection."""

    def __init__(self, node: NodeSpec) -> None:
        self.node = node
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self._state = LinkState()
        self._connect_lock = asyncio.Lock()
        self._channels = asyncio.Semaphore(max(1, node.max_sessions - 1))
        self._home: str | None = None

    # --- connection ---------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._state.lost

    @property
    def local_port(self) -> int | None:
        """The controller-side TCP port of the live connection (for logs and fault tests)."""
        if not self.connected or self._conn is None:
            return None
        sockname = self._conn.get_extra_info("sockname")
        return int(sockname[1]) if sockname else None

    async def connect(self) -> None:
        """Open the connection and its SFTP client; a no-op while connected."""
        import asyncssh

        async with self._connect_lock:
            if self.connected:
                return
            self._discard()
            state = LinkState()
            conn = await open_connection(self.node, state)
            try:
                sftp = await asyncio.wait_for(conn.start_sftp_client(), self.node.login_timeout_s)
            except (asyncssh.Error, OSError, TimeoutError) as exc:
                conn.abort()
                raise NodeUnreachable(
                    self.node.name,
                    f"logged in, but the SFTP subsystem did not start ({exc}); the node's "
                    "sshd_config needs a `Subsystem sftp` line",
                ) from None
            except BaseException:
                conn.abort()  # cancelled while the SFTP session started: leave nothing open
                raise
            self._conn, self._sftp, self._state = conn, sftp, state

    async def close(self) -> None:
        async with self._connect_lock:
            conn, sftp = self._conn, self._sftp
            self._conn = self._sftp = None
            if sftp is not None:
                sftp.exit()
            if conn is not None:
                conn.close()
                try:
                    await asyncio.wait_for(conn.wait_closed(), 5.0)
                except (TimeoutError, OSError):
                    conn.abort()

    def _discard(self) -> None:
        """Forget a dead connection without waiting on it."""
        if self._sftp is not None:
            self._sftp.exit()
        if self._conn is not None:
            self._conn.abort()
        self._conn = self._sftp = None

    def _not_connected(self) -> LinkLost:
        if self._conn is None:
            return LinkLost(self.node.name, "not connected (connect() first)")
        return LinkLost(self.node.name, self._state.lost_reason or "connection closed")

    def _link_lost(self, state: LinkState, exc: BaseException) -> LinkLost | None:
        """LinkLost when `exc` comes from the connection (of `state`) going away."""
        import asyncssh

        dropped = (asyncssh.ConnectionLost, asyncssh.SFTPConnectionLost, ConnectionError)
        if state.lost or isinstance(exc, dropped):
            if state is self._state:
                self._discard()
            reason = state.lost_reason or str(exc) or type(exc).__name__
            return LinkLost(self.node.name, reason)
        return None

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[asyncssh.SSHClientConnection]:
        """A slot for one channel on the live connection; link failures become LinkLost."""
        import asyncssh

        if not self.connected or self._conn is None:
            raise self._not_connected()
        conn, state = self._conn, self._state
        async with self._channels:
            try:
                yield conn
            except (asyncssh.Error, OSError) as exc:
                if (lost := self._link_lost(state, exc)) is not None:
                    raise lost from None
                if isinstance(exc, asyncssh.ChannelOpenError):
                    raise TransportError(
                        f"node {self.node.name!r} refused a new SSH session ({exc.reason}); its "
                        f"sshd MaxSessions may be below max_sessions = {self.node.max_sessions}"
                    ) from None
                raise TransportError(f"on node {self.node.name!r}: {exc}") from None

    @asynccontextmanager
    async def _files(
        self, timeout: float | None = SFTP_OP_TIMEOUT_S
    ) -> AsyncIterator[asyncssh.SFTPClient]:
        """The shared SFTP client; link failures become LinkLost, other SFTP errors pass as
        TransportError. An SFTP server that stops answering (a hung mount under the file)
        would block every later request on the session, so past `timeout` the connection is
        dropped as lost and the caller's reconnect gets a fresh one."""
        import asyncssh

        if not self.connected or self._sftp is None:
            raise self._not_connected()
        sftp, state = self._sftp, self._state
        try:
            async with asyncio.timeout(timeout):
                yield sftp
        except TimeoutError:
            if state is self._state:
                self._discard()
            raise LinkLost(
                self.node.name, f"an SFTP request got no answer within {timeout:g} s"
            ) from None
        except (asyncssh.Error, OSError) as exc:
            if (lost := self._link_lost(state, exc)) is not None:
                raise lost from None
            raise TransportError(
                f"file operation on node {self.node.name!r} failed: {exc}"
            ) from None

    # --- commands -------------------------------------------------------------------------------

    def _sh(self, script: str, *, timeout: float | None = None) -> str:
        """The exec request: `sh -c` (whatever the login shell is) with the node's env.

        With `timeout`, the node's own `timeout` (coreutils, where present) ends the script's
        whole process group: sshd does not deliver SSH signal requests to root sessions, and a
        channel stays open on the server until its command exits, so a stuck command must be
        ended on the node to give its MaxSessions slot back.
        """
        exports = "".join(
            f"export {name}={shlex.quote(value)}\n"
            for name, value in self.node.env.items()
            if detach.valid_env_name(name)
        )
        inner = "sh -c " + shlex.quote(exports + script)
        if timeout is None:
            return inner
        limit = f"{max(timeout, 0.1):.3f}"
        outer = (
            "if command -v timeout >/dev/null 2>&1; then "
            f"exec timeout -k 2 {limit} {inner}; else exec {inner}; fi"
        )
        return "sh -c " + shlex.quote(outer)

    async def home(self) -> str:
        if self._home is None:
            async with self._files() as sftp:
                self._home = str(await sftp.realpath("."))
        return self._home

    async def run(self, argv: Sequence[str], *, timeout: float = 30.0) -> CommandResult:
        return await self.run_shell(shlex.join(argv), timeout=timeout)

    async def run_shell(self, script: str, *, timeout: float = 30.0) -> CommandResult:
        import asyncssh

        state = self._state
        t0 = time.monotonic()
        async with self._session() as conn:
            proc = await conn.create_process(
                self._sh(script, timeout=timeout),
                stdin=asyncssh.DEVNULL,
                encoding="utf-8",
                errors="replace",
            )
            try:
                # The node's `timeout` normally ends it first (exit 124); this is the backstop.
                res = await proc.wait(timeout=timeout + 3.0)
            except asyncssh.TimeoutError as exc:
                if (lost := self._link_lost(state, exc)) is not None:
                    raise lost from None
                await self._end(proc, state, "KILL")
                return CommandResult(124, str(exc.stdout or ""), f"timed out after {timeout:g}s")
            except BaseException:
                await self._end(proc, state, "KILL")
                raise
        code = _exit_code(res.exit_status, res.exit_signal)
        stderr = str(res.stderr or "")
        if code == 124 and time.monotonic() - t0 >= timeout * 0.95:
            stderr += f"timed out after {timeout:g}s"
        if code is None:
            # No status and no signal: the channel ended with the connection.
            lost = self._link_lost(state, ConnectionError("no exit status"))
            raise lost or LinkLost(self.node.name, "the command ended without an exit status")
        return CommandResult(code, str(res.stdout or ""), stderr)

    async def _end(self, proc: asyncssh.SSHClientProcess, state: LinkState, sig: str) -> None:
        """Close a command's channel and wait (briefly) until the server has closed it too, so
        the slot is free on the node before it is given back here. The signal is a courtesy:
        sshd ignores signal requests on root sessions; a stream's command ends at its next
        write (SIGPIPE), a stuck short command at the node-side `timeout`."""
        import asyncssh

        if proc.exit_status is None and proc.exit_signal is None and not state.lost:
            try:
                proc.send_signal(sig)
            except (asyncssh.Error, OSError):
                pass
        proc.close()
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            return
        try:
            await asyncio.wait_for(proc.wait_closed(), 5.0)
        except (TimeoutError, asyncssh.Error, OSError):
            pass

    async def stream_lines(self, argv: Sequence[str]) -> AsyncIterator[str]:
        """Lines of a long-running command. Stopping the iteration (break + aclose) signals the
        remote command and closes its channel; LinkLost if the connection drops meanwhile."""
        import asyncssh

        state = self._state
        async with self._session() as conn:
            proc = await conn.create_process(
                self._sh("exec " + shlex.join(argv)),
                stdin=asyncssh.DEVNULL,
                stderr=asyncssh.DEVNULL,
                encoding="utf-8",
                errors="replace",
            )
            try:
                async for line in proc.stdout:
                    yield line.rstrip("\r\n")
            finally:
                await self._end(proc, state, "TERM")
            if state.lost:
                raise self._link_lost(state, ConnectionError("stream ended")) or LinkLost(
                    self.node.name, "connection lost"
                )

    # --- files ----------------------------------------------------------------------------------

    async def make_dirs(self, path: str) -> None:
        async with self._files() as sftp:
            await sftp.makedirs(path, exist_ok=True)

    async def write_file(self, path: str, data: bytes, *, mode: int = 0o644) -> None:
        async with self._files() as sftp:
            async with sftp.open(path, "wb") as f:
                await f.write(data)
            await sftp.chmod(path, mode)

    async def read_from(self, path: str, offset: int, max_bytes: int = 1 << 20) -> bytes:
        """Sequential SFTP reads from `offset`. asyncssh's parallel reader is avoided on
        purpose: on a growing file a later block can land after an earlier one hit EOF, and
        it pads the gap with NULs."""
        import asyncssh

        absent = (asyncssh.SFTPNoSuchFile, asyncssh.SFTPPermissionDenied, asyncssh.SFTPFailure)
        async with self._files() as sftp:
            block = min(_MAX_READ, sftp.limits.max_read_len or 32 * 1024)
            try:
                f = await sftp.open(path, "rb", block_size=0)
            except absent:
                return b""
            try:
                parts: list[bytes] = []
                got = 0
                while got < max_bytes:
                    want = min(block, max_bytes - got)
                    try:
                        data = await f.read(want, offset + got)
                    except absent:
                        break
                    if not data:
                        break
                    parts.append(data)
                    got += len(data)
                    if len(data) < want:
                        break  # short read: the end of the file as it is now
                return b"".join(parts)
            finally:
                await _close_file(f)

    async def size(self, path: str) -> int | None:
        import asyncssh

        async with self._files() as sftp:
            try:
                attrs = await sftp.stat(path)
            except (asyncssh.SFTPNoSuchFile, asyncssh.SFTPPermissionDenied):
                return None
            return attrs.size

    async def list_files(self, path: str) -> dict[str, int]:
        import asyncssh

        out: dict[str, int] = {}
        async with self._files() as sftp:
            try:
                async for entry in sftp.scandir(path):
                    name = str(entry.filename)
                    attrs = entry.attrs
                    if name in (".", "..") or attrs.type != asyncssh.FILEXFER_TYPE_REGULAR:
                        continue
                    out[name] = attrs.size or 0
            except (
                asyncssh.SFTPNoSuchFile,
                asyncssh.SFTPPermissionDenied,
                asyncssh.SFTPNotADirectory,
                asyncssh.SFTPFailure,
            ):
                return {}
        return out

    # --- runs -----------------------------------------------------------------------------------

    async def start(self, request: LaunchRequest) -> RunHandle:
        """Write the run's files by SFTP, then start `launch.sh` detached with one command."""
        check_safe_component(request.run_id, what="run id")
        check_node_path(request.run_dir, what="run dir")
        for name in request.files:
            check_safe_component(name, what="file name")
        run_dir = request.run_dir.rstrip("/") or "/"
        await self.make_dirs(run_dir)
        for name, data in request.files.items():
            await self.write_file(f"{run_dir}/{name}", data)
        await self.write_file(f"{run_dir}/{detach.COMMAND}", request.command.encode() + b"\n")
        env = {**self.node.env, **request.env}
        await self.write_file(
            f"{run_dir}/{detach.LAUNCH}",
            detach.launch_script(run_dir, request.cwd, env).encode(),
            mode=0o755,
        )
        res = await self.run_shell(detach.detach_line(run_dir), timeout=15)
        try:
            pid = int(res.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError) as exc:
            raise TransportError(
                f"could not start run {request.run_id} on {self.node.name}: "
                f"{res.stderr.strip() or 'no pid came back'}"
            ) from exc
        return RunHandle(self.node.name, request.run_id, run_dir, pid)

    async def status(self, handle: RunHandle) -> ProcessStatus:
        return await detach.read_status(self, handle)

    async def cancel(self, handle: RunHandle, *, grace_s: float = 5.0) -> None:
        """TERM the run's process group, KILL it after `grace_s`, and wait until /proc shows
        none of it. A pid that no longer belongs to this run (vanished) is left alone."""
        st = await self.status(handle)
        if st.state == "vanished":
            return
        if st.state == "exited":
            # The wrapper is done; only orphans of the run can still hold its group, and only
            # while the leader's pid is free (otherwise the number may belong to someone else).
            if await self.size(f"/proc/{handle.pid}/stat") is not None:
                return
        res = await self.run_shell(_cancel_script(handle.pid, grace_s), timeout=grace_s + 10)
        if res.exit_status != 0:
            raise TransportError(
                f"run {handle.run_id} on node {self.node.name!r} did not stop after TERM and "
                f"KILL (process group {handle.pid}): {res.stderr.strip()}"
            )

    async def forward_port(self, host: str, port: int) -> SshPortForward:
        """A listener on 127.0.0.1 (any free port) whose connections the node's sshd opens to
        `host:port` on its side, over this node's one connection (sshd's AllowTcpForwarding
        must allow it). It ends with the connection; a lost link means a new forward."""
        import asyncssh

        if not self.connected or self._conn is None:
            raise self._not_connected()
        try:
            listener = await self._conn.forward_local_port("127.0.0.1", 0, host, port)
        except (asyncssh.Error, OSError) as exc:
            if (lost := self._link_lost(self._state, exc)) is not None:
                raise lost from None
            raise TransportError(
                f"node {self.node.name!r} refused to forward a port to {host}:{port}: {exc}"
            ) from None
        return SshPortForward(listener)

    async def fetch(self, remote_dir: str, names: Sequence[str], dest: Path) -> FetchReport:
        """Copy by SFTP, each file's size checked against the node's; LinkLost if the link
        drops (the caller reconnects and fetches again)."""
        import asyncssh

        dest.mkdir(parents=True, exist_ok=True)
        copied: list[str] = []
        missing: list[str] = []
        total = 0
        for name in names:
            try:
                check_safe_component(name, what="file name")
            except LaunchRefused:
                missing.append(name)
                continue
            remote = f"{remote_dir.rstrip('/')}/{name}"
            local = dest / name
            # No per-request limit: a large log may take long; keepalives notice a dead link.
            async with self._files(timeout=None) as sftp:
                try:
                    want = (await sftp.stat(remote)).size
                    await sftp.get(remote, str(local))
                except (
                    asyncssh.SFTPNoSuchFile,
                    asyncssh.SFTPPermissionDenied,
                    asyncssh.SFTPFailure,
                    asyncssh.SFTPNotADirectory,
                    asyncssh.SFTPEOFError,
                ):
                    missing.append(name)
                    continue
                except OSError as exc:
                    if isinstance(exc, ConnectionError):
                        raise
                    missing.append(name)  # the controller side could not write it
                    continue
            got = local.stat().st_size if local.exists() else -1
            if want is None or got != want:
                missing.append(name)
            else:
                copied.append(name)
                total += got
        return FetchReport(tuple(copied), tuple(missing), total)
