"""The fallback way to work on an SSH node: one exec channel per command, one SFTP session for
files. Used where the node agent cannot run (no Python on the node) or is turned off
(`node_agent = false`); the node agent (`ssh_agent`) is the default.

Every exec pays the account's login shell and a new sshd session, which is why it is the
fallback. Channels: OpenSSH refuses sessions beyond its `MaxSessions` (default 10) per
connection. The SFTP client holds one; commands and streams share `node.max_sessions - 1`
more, so at most `node.max_sessions` are ever open at once.
"""

from __future__ import annotations

import asyncio
import shlex
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import LinkLost, TransportError
from engine.model import NodeSpec
from engine.transport import detach
from engine.transport.base import CommandResult, FetchReport, FetchTally
from engine.transport.ssh_connect import LinkState
from engine.transport.ssh_paths import fetchable

if TYPE_CHECKING:
    import asyncssh

# OpenSSH's sftp-server answers reads of at most ~256 KiB; asking for more only splits them.
_MAX_READ = 256 * 1024
# One SFTP request (open, read, stat ...) that takes longer means the session is wedged.
SFTP_OP_TIMEOUT_S = 60.0


def _exit_code(exit_status: int | None, exit_signal: Any) -> int | None:
    if exit_status is not None:
        return exit_status
    if exit_signal:
        try:
            return 128 + signal.Signals[f"SIG{exit_signal[0]}"].value
        except KeyError:
            return 255
    return None


async def _settle(closing: Callable[[], Awaitable[Any]]) -> None:
    """Wait (5 s at most, never raising) for the server's side of a cleanup: a remote file's
    close, a channel's close. Never when the task is being cancelled: shutdown cancels
    asyncssh's own reader task too, so no reply would come; what is left open ends with the
    SFTP session or the connection."""
    import asyncssh

    task = asyncio.current_task()
    if task is not None and task.cancelling():
        return
    try:
        await asyncio.wait_for(closing(), 5.0)
    except (TimeoutError, asyncssh.Error, OSError):
        pass


def exec_line(node: NodeSpec, script: str, env: Mapping[str, str], timeout: float | None) -> str:
    """The exec request: `sh -c` (whatever the login shell is) with `env` exported.

    With `timeout`, the node's own `timeout` (coreutils, where present) ends the script's
    whole process group: sshd does not deliver SSH signal requests to root sessions, and a
    channel stays open on the server until its command exits, so a stuck command must be
    ended on the node to give its MaxSessions slot back.
    """
    exports = "".join(
        f"export {name}={shlex.quote(value)}\n"
        for name, value in env.items()
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


class SessionChannel:
    """Commands as exec channels and files over one SFTP client, on one live connection.

    `on_lost(state)` is called when a failure shows the connection is gone, so the
    transport forgets it; every such failure is raised as LinkLost.
    """

    def __init__(
        self,
        node: NodeSpec,
        conn: asyncssh.SSHClientConnection,
        sftp: asyncssh.SFTPClient,
        state: LinkState,
        on_lost: Callable[[LinkState], None],
    ) -> None:
        self.node = node
        self._conn = conn
        self._sftp = sftp
        self._state = state
        self._on_lost = on_lost
        self._channels = asyncio.Semaphore(max(1, node.max_sessions - 1))

    def close(self) -> None:
        self._sftp.exit()

    def _link_lost(self, exc: BaseException) -> LinkLost | None:
        """LinkLost when `exc` comes from the connection going away."""
        import asyncssh

        dropped = (asyncssh.ConnectionLost, asyncssh.SFTPConnectionLost, ConnectionError)
        if self._state.lost or isinstance(exc, dropped):
            self._on_lost(self._state)
            reason = self._state.lost_reason or str(exc) or type(exc).__name__
            return LinkLost(self.node.name, reason)
        return None

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[asyncssh.SSHClientConnection]:
        """A slot for one channel on the connection; link failures become LinkLost."""
        import asyncssh

        async with self._channels:
            try:
                yield self._conn
            except (asyncssh.Error, OSError) as exc:
                if (lost := self._link_lost(exc)) is not None:
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

        try:
            async with asyncio.timeout(timeout):
                yield self._sftp
        except TimeoutError:
            self._on_lost(self._state)
            raise LinkLost(
                self.node.name, f"an SFTP request got no answer within {timeout:g} s"
            ) from None
        except (asyncssh.Error, OSError) as exc:
            if (lost := self._link_lost(exc)) is not None:
                raise lost from None
            raise TransportError(
                f"file operation on node {self.node.name!r} failed: {exc}"
            ) from None

    # --- commands -------------------------------------------------------------------------------

    async def home(self) -> str:
        async with self._files() as sftp:
            return str(await sftp.realpath("."))

    async def run_shell(
        self, script: str, *, timeout: float, env: Mapping[str, str] | None = None
    ) -> CommandResult:
        import asyncssh

        t0 = time.monotonic()
        line = exec_line(self.node, script, {**self.node.env, **(env or {})}, timeout)
        async with self._session() as conn:
            proc = await conn.create_process(
                line, stdin=asyncssh.DEVNULL, encoding="utf-8", errors="replace"
            )
            try:
                # The node's `timeout` normally ends it first (exit 124); this is the backstop.
                res = await proc.wait(timeout=timeout + 3.0)
            except asyncssh.TimeoutError as exc:
                if (lost := self._link_lost(exc)) is not None:
                    raise lost from None
                await self._end(proc, "KILL")
                return CommandResult(124, str(exc.stdout or ""), f"timed out after {timeout:g}s")
            except BaseException:
                await self._end(proc, "KILL")
                raise
        code = _exit_code(res.exit_status, res.exit_signal)
        stderr = str(res.stderr or "")
        if code == 124 and time.monotonic() - t0 >= timeout * 0.95:
            stderr += f"timed out after {timeout:g}s"
        if code is None:
            # No status and no signal: the channel ended with the connection.
            lost = self._link_lost(ConnectionError("no exit status"))
            raise lost or LinkLost(self.node.name, "the command ended without an exit status")
        return CommandResult(code, str(res.stdout or ""), stderr)

    async def _end(self, proc: asyncssh.SSHClientProcess[str], sig: str) -> None:
        """Close a command's channel and wait (briefly) until the server has closed it too, so
        the slot is free on the node before it is given back here. The signal is a courtesy:
        sshd ignores signal requests on root sessions; a stream's command ends at its next
        write (SIGPIPE), a stuck short command at the node-side `timeout`."""
        import asyncssh

        if proc.exit_status is None and proc.exit_signal is None and not self._state.lost:
            try:
                proc.send_signal(sig)
            except (asyncssh.Error, OSError):
                pass
        proc.close()
        await _settle(proc.wait_closed)

    async def stream_lines(self, argv: Sequence[str]) -> AsyncIterator[str]:
        """Lines of a long-running command. Stopping the iteration (break + aclose) signals the
        remote command and closes its channel; LinkLost if the connection drops meanwhile."""
        import asyncssh

        async with self._session() as conn:
            proc = await conn.create_process(
                exec_line(self.node, "exec " + shlex.join(argv), self.node.env, None),
                stdin=asyncssh.DEVNULL,
                stderr=asyncssh.DEVNULL,
                encoding="utf-8",
                errors="replace",
            )
            try:
                async for line in proc.stdout:
                    yield line.rstrip("\r\n")
            finally:
                await self._end(proc, "TERM")
            if self._state.lost:
                raise self._link_lost(ConnectionError("stream ended")) or LinkLost(
                    self.node.name, "connection lost"
                )

    # --- files ----------------------------------------------------------------------------------

    async def make_dirs(self, path: str) -> None:
        async with self._files() as sftp:
            await sftp.makedirs(path, exist_ok=True)

    async def write_file(self, path: str, data: bytes, mode: int) -> None:
        async with self._files() as sftp:
            async with sftp.open(path, "wb", asyncssh_attrs(mode)) as f:
                await f.write(data)
            await sftp.chmod(path, mode)

    async def read_from(self, path: str, offset: int, max_bytes: int) -> bytes:
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
                await _settle(f.close)

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

    async def fetch(self, remote_dir: str, names: Sequence[str], dest: Path) -> FetchReport:
        """Copy by SFTP, each file's size checked against the node's; LinkLost if the link
        drops (the caller reconnects and fetches again)."""
        import asyncssh

        dest.mkdir(parents=True, exist_ok=True)
        tally = FetchTally()
        for name in fetchable(names, tally):
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
                    tally.miss(name)
                    continue
                except OSError as exc:
                    if isinstance(exc, ConnectionError):
                        raise
                    tally.miss(name)  # the controller side could not write it
                    continue
            tally.add(name, want, local.stat().st_size if local.exists() else -1)
        return tally.report()


def asyncssh_attrs(mode: int) -> Any:
    """SFTP attributes that create a file with `mode` from the start (no window in which a
    secret-bearing file is readable by others before the chmod)."""
    import asyncssh

    return asyncssh.SFTPAttrs(permissions=mode)
