"""SSH nodes over asyncssh: the same detached-run protocol as `LocalTransport`.

One connection per node, and on it **one SSH session**: the node agent
(`engine.transport.node_agent`, driven by `ssh_agent.AgentChannel`), started once per
connection through the account's login shell, carries every command, file read and write,
directory listing and stream (`nvidia-smi -lms`). So a node costs one login per connection
(one per console session while the link holds), and a status poll or a probe is a JSON line
each way, with no new sshd session, login shell or process on the node. Where the node has no
Python (or `node_agent = false`), the transport falls back to one exec per command plus an
SFTP session (`ssh_sessions.SessionChannel`), the way 0.1.0 worked.

Tails read files by byte offset, so polling spawns no process on the node and a reconnect
resumes exactly where it stopped. Runs are started detached (`engine.transport.detach`), so a
dropped link costs nothing on the node: the caller sees `LinkLost`, calls `connect()` again
(with backoff) and carries on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import LinkLost, NodeUnreachable, TransportError
from engine.model import NodeSpec
from engine.transport import detach
from engine.transport.base import (
    CommandResult,
    FetchReport,
    LaunchRequest,
    ProcessStatus,
    RunHandle,
)
from engine.transport.ssh_agent import AgentChannel, AgentGone
from engine.transport.ssh_connect import LinkState, login_slot, open_connection
from engine.transport.ssh_paths import check_node_path, check_safe_component
from engine.transport.ssh_sessions import SessionChannel

if TYPE_CHECKING:
    import asyncssh

# Modes of the files a run's launch writes on the node: only the account reads them, since
# a command may carry a secret (the controller's copies are redacted, see engine.secrets).
RUN_FILE_MODE = 0o600
LAUNCH_MODE = 0o700


class SshPortForward:
    """An asyncssh local port forward (one listener; one SSH channel per connection)."""

    def __init__(self, listener: Any) -> None:
        self._listener = listener
        self.local_port = int(listener.get_port())

    def close(self) -> None:
        self._listener.close()


class SshTransport:
    """A node reached over SSH. Not connected until `connect()`; after `LinkLost`,
    `connected` is False and `connect()` opens a fresh connection (and a fresh agent)."""

    def __init__(self, node: NodeSpec) -> None:
        self.node = node
        self._conn: asyncssh.SSHClientConnection | None = None
        self._channel: AgentChannel | SessionChannel | None = None
        self._state = LinkState()
        self._connect_lock = asyncio.Lock()
        self._home: str | None = None
        self.logins = 0  # connections opened (each one login on the node), for benchmarks

    # --- connection ---------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._state.lost

    @property
    def uses_agent(self) -> bool:
        """True while the live connection works through the node agent."""
        return isinstance(self._channel, AgentChannel) and self.connected

    @property
    def local_port(self) -> int | None:
        """The controller-side TCP port of the live connection (for logs and fault tests)."""
        if not self.connected or self._conn is None:
            return None
        sockname = self._conn.get_extra_info("sockname")
        return int(sockname[1]) if sockname else None

    async def connect(self) -> None:
        """Open the connection and its one working session; a no-op while connected."""
        async with self._connect_lock:
            if self.connected:
                return
            self._discard()
            state = LinkState()
            async with login_slot(self.node):
                conn = await open_connection(self.node, state)
                self.logins += 1
                try:
                    channel = await self._open_channel(conn, state)
                except BaseException:
                    conn.abort()  # failed or cancelled while the session started: leave nothing
                    raise
            self._conn, self._channel, self._state = conn, channel, state
            if isinstance(channel, AgentChannel) and channel.home:
                self._home = channel.home

    async def _open_channel(
        self, conn: asyncssh.SSHClientConnection, state: LinkState
    ) -> AgentChannel | SessionChannel:
        import asyncssh

        timeout = self.node.login_timeout_s
        if self.node.node_agent:
            try:
                agent = await AgentChannel.start(conn, self.node, state, self._lost, timeout)
            except (AgentGone, asyncssh.Error, OSError) as exc:
                raise NodeUnreachable(self.node.name, f"logged in, but {exc}") from None
            if agent is not None:
                return agent
        try:
            sftp = await asyncio.wait_for(conn.start_sftp_client(), timeout)
        except (asyncssh.Error, OSError, TimeoutError) as exc:
            raise NodeUnreachable(
                self.node.name,
                f"logged in, but the SFTP subsystem did not start ({exc}); the node's "
                "sshd_config needs a `Subsystem sftp` line",
            ) from None
        return SessionChannel(self.node, conn, sftp, state, self._lost)

    async def close(self) -> None:
        async with self._connect_lock:
            conn, channel = self._conn, self._channel
            self._conn = self._channel = None
            if channel is not None:
                channel.close()
            if conn is not None:
                conn.close()
                try:
                    await asyncio.wait_for(conn.wait_closed(), 5.0)
                except (TimeoutError, OSError):
                    conn.abort()

    def _discard(self) -> None:
        """Forget a dead connection without waiting on it."""
        if self._channel is not None:
            self._channel.close()
        if self._conn is not None:
            self._conn.abort()
        self._conn = self._channel = None

    def _lost(self, state: LinkState) -> None:
        """A channel found the connection of `state` gone: forget it, if it is still ours."""
        if state is self._state:
            self._discard()

    def _live(self) -> AgentChannel | SessionChannel:
        if not self.connected or self._channel is None:
            if self._conn is None:
                raise LinkLost(self.node.name, "not connected (connect() first)")
            raise LinkLost(self.node.name, self._state.lost_reason or "connection closed")
        return self._channel

    # --- commands and files ---------------------------------------------------------------------

    async def home(self) -> str:
        if self._home is None:
            self._home = await self._live().home()
        return self._home

    async def run(self, argv: Sequence[str], *, timeout: float = 30.0) -> CommandResult:
        import shlex

        return await self.run_shell(shlex.join(argv), timeout=timeout)

    async def run_shell(
        self, script: str, *, timeout: float = 30.0, env: Mapping[str, str] | None = None
    ) -> CommandResult:
        """`env` is handed to the command's process (the Slurm hop's sbatch), never a file."""
        return await self._live().run_shell(script, timeout=timeout, env=dict(env or {}))

    async def stream_lines(self, argv: Sequence[str]) -> AsyncIterator[str]:
        async for line in self._live().stream_lines(argv):
            yield line

    async def make_dirs(self, path: str) -> None:
        await self._live().make_dirs(path)

    async def write_file(self, path: str, data: bytes, *, mode: int = 0o644) -> None:
        await self._live().write_file(path, data, mode)

    async def read_from(self, path: str, offset: int, max_bytes: int = 1 << 20) -> bytes:
        return await self._live().read_from(path, offset, max_bytes)

    async def size(self, path: str) -> int | None:
        return await self._live().size(path)

    async def list_files(self, path: str) -> dict[str, int]:
        return await self._live().list_files(path)

    async def forward_port(self, host: str, port: int) -> SshPortForward:
        """A listener on 127.0.0.1 (any free port) whose connections the node's sshd opens to
        `host:port` on its side, over this node's one connection (sshd's AllowTcpForwarding
        must allow it). It ends with the connection; a lost link means a new forward. A
        forwarded connection is a direct-tcpip channel: it runs no login shell."""
        import asyncssh

        self._live()
        conn, state = self._conn, self._state
        assert conn is not None
        try:
            listener = await conn.forward_local_port("127.0.0.1", 0, host, port)
        except (asyncssh.Error, OSError) as exc:
            dropped = (asyncssh.ConnectionLost, ConnectionError)
            if state.lost or isinstance(exc, dropped):
                self._lost(state)
                raise LinkLost(self.node.name, state.lost_reason or str(exc)) from None
            raise TransportError(
                f"node {self.node.name!r} refused to forward a port to {host}:{port}: {exc}"
            ) from None
        return SshPortForward(listener)

    async def fetch(self, remote_dir: str, names: Sequence[str], dest: Path) -> FetchReport:
        """Copy files into `dest`, each one's size checked against the node's; LinkLost if
        the link drops (the caller reconnects and fetches again)."""
        return await self._live().fetch(remote_dir, names, dest)

    # --- runs -----------------------------------------------------------------------------------

    async def start(self, request: LaunchRequest) -> RunHandle:
        """Write the run's files (mode 0600), then start `launch.sh` detached with one command."""
        check_safe_component(request.run_id, what="run id")
        check_node_path(request.run_dir, what="run dir")
        for name in request.files:
            check_safe_component(name, what="file name")
        run_dir = request.run_dir.rstrip("/") or "/"
        await self.make_dirs(run_dir)
        for name, data in request.files.items():
            await self.write_file(f"{run_dir}/{name}", data, mode=RUN_FILE_MODE)
        await self.write_file(
            f"{run_dir}/{detach.COMMAND}", request.command.encode() + b"\n", mode=RUN_FILE_MODE
        )
        await self.write_file(
            f"{run_dir}/{detach.LAUNCH}",
            detach.launch_script(run_dir, request.cwd).encode(),
            mode=LAUNCH_MODE,
        )
        # The environment goes to the wrapper's process, never into a file: the agent (or
        # the exec line) hands it to the `setsid` that starts launch.sh.
        env = {**self.node.env, **request.env}
        res = await self._live().run_shell(detach.detach_line(run_dir), timeout=15, env=env)
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
        await detach.cancel_run(self, handle, self.node.name, grace_s=grace_s)
