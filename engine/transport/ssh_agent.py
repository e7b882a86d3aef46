"""The controller's side of the node agent: one SSH session per connection carries every
command, file operation and stream to a node (`engine.transport.node_agent` is the node's side).

Why: each SSH exec pays the account's login shell (`.bashrc`) and a new sshd session on the
node; a probe, a launch and every status poll paid it again. With the agent a node costs one
login per connection, and a poll is one JSON line each way on a channel that is already open.

`AgentChannel.start` starts the agent through the login shell with the node's Python (else
`python3`) and waits for its hello; it returns None when the node has no usable Python, and
the transport falls back to one exec per command plus SFTP (`ssh_sessions`).

Failures: a reply that does not come within its timeout means the agent (or a mount under the
file it reads) is wedged; like an unanswered SFTP request, that drops the link as lost so the
reconnect starts a fresh agent. The channel ending (the connection dropped, the agent died)
fails every request in flight with `AgentGone`, which the transport turns into `LinkLost`.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import shlex
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import LinkLost, TransportError
from engine.model import NodeSpec
from engine.transport.base import CommandResult, FetchReport, FetchTally
from engine.transport.ssh_connect import LinkState
from engine.transport.ssh_paths import fetchable

if TYPE_CHECKING:
    import asyncssh

log = logging.getLogger("engine.transport.ssh")

# One request unanswered this long means the agent is wedged (as SFTP_OP_TIMEOUT_S in ssh.py).
REQUEST_TIMEOUT_S = 60.0
# Bytes per read request when fetching a run's files; several are kept in flight.
FETCH_CHUNK = 1 << 20
FETCH_IN_FLIGHT = 4
# Lines a chatty login shell may print before the agent's hello, at most.
MAX_PREAMBLE_LINES = 200
# Tried after the node's own `python`, in this order.
FALLBACK_PYTHONS = ("python3",)

_BOOTSTRAP = (
    "import sys;b=sys.stdin.buffer;"
    'exec(compile(b.read(int(b.readline())),"mlconsole-node-agent","exec"))'
)


def _agent_source() -> bytes:
    return (Path(__file__).with_name("node_agent.py")).read_bytes()


def agent_command(node: NodeSpec) -> str:
    """The exec request that starts the agent: `sh -c` (whatever the login shell is) tries the
    node's python, then python3; exit 127 and a line on stderr when neither exists."""
    q = shlex.quote
    candidates = " ".join(q(p) for p in dict.fromkeys((node.python, *FALLBACK_PYTHONS)))
    tried = " and ".join(dict.fromkeys((node.python, *FALLBACK_PYTHONS)))
    script = (
        f"for py in {candidates}; do\n"
        '  if command -v "$py" >/dev/null 2>&1; then\n'
        f'    exec "$py" -S -u -c {q(_BOOTSTRAP)}\n'
        "  fi\n"
        "done\n"
        f"echo {q(f'mlconsole: no python on the node (tried {tried})')} >&2\n"
        "exit 127\n"
    )
    return "sh -c " + q(script)


class AgentGone(Exception):
    """The agent's channel ended: the connection dropped or the agent exited."""


class AgentChannel:
    """Requests to one node agent. Safe to use from many tasks at once.

    Failures of the link come out as LinkLost, after `on_lost(state)` told the transport to
    forget the connection; the agent's own errors (a file it could not write) as
    TransportError.
    """

    def __init__(
        self,
        node: NodeSpec,
        proc: asyncssh.SSHClientProcess[bytes],
        state: LinkState,
        on_lost: Callable[[LinkState], None],
    ) -> None:
        self.node = node
        self._proc = proc
        self._state = state
        self._on_lost = on_lost
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._streams: dict[int, asyncio.Queue[dict[str, Any]]] = {}
        self._gone: str | None = None
        self._reader: asyncio.Task[None] | None = None
        self.home = ""
        self.python = ""
        self.pid = 0
        self.requests = 0  # answered requests, for the benchmarks

    # --- life ---------------------------------------------------------------------------------

    @classmethod
    async def start(
        cls,
        conn: asyncssh.SSHClientConnection,
        node: NodeSpec,
        state: LinkState,
        on_lost: Callable[[LinkState], None],
        timeout: float,
    ) -> AgentChannel | None:
        """Start the agent and wait for its hello. None when the node has no Python (the
        caller falls back); AgentGone when the channel failed otherwise."""
        import asyncssh

        proc = await conn.create_process(agent_command(node), encoding=None)
        source = _agent_source()
        proc.stdin.write(b"%d\n" % len(source) + source)
        channel = cls(node, proc, state, on_lost)
        try:
            hello = await asyncio.wait_for(channel._hello(), timeout)
        except (TimeoutError, AgentGone, asyncssh.Error, OSError) as exc:
            status = proc.exit_status
            if status is None:
                try:
                    await asyncio.wait_for(proc.wait_closed(), 1.0)
                except (TimeoutError, asyncssh.Error, OSError):
                    pass
                status = proc.exit_status
            proc.close()
            if status == 127:
                return None
            if isinstance(exc, TimeoutError):
                raise AgentGone(f"the node agent did not start within {timeout:g} s") from None
            raise AgentGone(f"the node agent did not start ({exc or 'channel closed'})") from None
        except BaseException:
            proc.close()
            raise
        channel.home = str(hello.get("home") or "")
        channel.python = str(hello.get("python") or "")
        channel.pid = int(hello.get("pid") or 0)
        channel._reader = asyncio.create_task(channel._read_replies())
        if node.env:
            await channel.call("env", env=_valid_env(node.env))
        return channel

    async def _hello(self) -> dict[str, Any]:
        """The first JSON line with `hello`; earlier lines are a login shell's chatter."""
        for _ in range(MAX_PREAMBLE_LINES):
            raw = await self._proc.stdout.readline()
            if not raw:
                raise AgentGone("the channel closed before the agent said hello")
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if isinstance(msg, dict) and "hello" in msg:
                return msg
        raise AgentGone(f"no hello from the agent within {MAX_PREAMBLE_LINES} lines")

    def close(self) -> None:
        self._fail("the agent channel was closed")
        if self._reader is not None:
            self._reader.cancel()
        try:
            self._proc.stdin.write_eof()
        except Exception:  # noqa: BLE001 - the channel may already be gone
            pass
        self._proc.close()

    @property
    def alive(self) -> bool:
        return self._gone is None

    async def _read_replies(self) -> None:
        reason = "the agent's channel ended"
        try:
            while True:
                raw = await self._proc.stdout.readline()
                if not raw:
                    break
                try:
                    msg = json.loads(raw)
                    rid = msg["id"]
                except (ValueError, KeyError, TypeError):
                    continue
                queue = self._streams.get(rid)
                if queue is not None:
                    queue.put_nowait(msg)
                    continue
                fut = self._pending.pop(rid, None)
                if fut is not None and not fut.done():
                    self.requests += 1
                    fut.set_result(msg)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any read failure is the channel's end
            reason = f"the agent's channel failed: {exc}"
        self._fail(reason)

    def _fail(self, reason: str) -> None:
        if self._gone is None:
            self._gone = reason
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(AgentGone(self._gone))
        self._pending.clear()
        for queue in self._streams.values():
            queue.put_nowait({"gone": self._gone})

    def _send(self, msg: Mapping[str, Any]) -> None:
        if self._gone is not None:
            raise AgentGone(self._gone)
        try:
            self._proc.stdin.write(json.dumps(msg, separators=(",", ":")).encode() + b"\n")
        except Exception as exc:  # noqa: BLE001 - a channel that cannot be written is gone
            self._fail(f"the agent's channel cannot be written: {exc}")
            raise AgentGone(self._gone or str(exc)) from None

    # --- requests -----------------------------------------------------------------------------

    def _link_lost(self, reason: str) -> LinkLost:
        self._on_lost(self._state)
        return LinkLost(self.node.name, self._state.lost_reason or reason)

    async def call(self, op: str, *, timeout: Any = ..., **args: Any) -> dict[str, Any]:
        """One request and its reply. Unanswered past `timeout` (default REQUEST_TIMEOUT_S;
        None: as long as the link lives) or the channel ending: LinkLost. The agent's own
        error: TransportError."""
        if timeout is ...:
            timeout = REQUEST_TIMEOUT_S
        rid = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            self._send({"id": rid, "op": op, **args})
            reply = await asyncio.wait_for(fut, timeout)
        except AgentGone as exc:
            raise self._link_lost(str(exc)) from None
        except TimeoutError:
            raise self._link_lost(
                f"the node agent did not answer a {op} request within {timeout:g} s"
            ) from None
        finally:
            self._pending.pop(rid, None)
        if "error" in reply:
            raise TransportError(f"on node {self.node.name!r}: {op} failed: {reply['error']}")
        return reply

    async def run_shell(
        self, script: str, *, timeout: float, env: Mapping[str, str] | None = None
    ) -> CommandResult:
        # The agent ends the command at `limit`; the reply's own wait leaves room for that.
        reply = await self.call(
            "sh", script=script, limit=timeout, env=_valid_env(env or {}), timeout=timeout + 10.0
        )
        stderr = str(reply.get("err") or "")
        if reply.get("timed_out"):
            stderr += f"timed out after {timeout:g}s"
        return CommandResult(int(reply.get("exit", 255)), str(reply.get("out") or ""), stderr)

    async def read_from(self, path: str, offset: int, max_bytes: int) -> bytes:
        reply = await self.call("read", path=path, offset=offset, max=max_bytes)
        return base64.b64decode(reply.get("data") or "")

    async def size(self, path: str) -> int | None:
        reply = await self.call("size", path=path)
        size = reply.get("size")
        return int(size) if size is not None else None

    async def list_files(self, path: str) -> dict[str, int]:
        reply = await self.call("list", path=path)
        return {str(k): int(v) for k, v in (reply.get("files") or {}).items()}

    async def write_file(self, path: str, data: bytes, mode: int) -> None:
        await self.call("write", path=path, data=base64.b64encode(data).decode(), mode=mode)

    async def make_dirs(self, path: str) -> None:
        await self.call("mkdirs", path=path)

    async def stream_lines(self, argv: Sequence[str]) -> AsyncIterator[str]:
        """Lines of a long-running command; leaving the loop stops it on the node."""
        rid = next(self._ids)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._streams[rid] = queue
        ended = False
        try:
            try:
                self._send({"id": rid, "op": "stream", "argv": list(argv)})
            except AgentGone as exc:
                raise self._link_lost(str(exc)) from None
            while True:
                msg = await queue.get()
                if "line" in msg:
                    yield str(msg["line"])
                elif "gone" in msg:
                    raise self._link_lost(str(msg["gone"]))
                else:
                    ended = True
                    return
        finally:
            self._streams.pop(rid, None)
            if not ended and self._gone is None:
                try:
                    self._send({"id": 0, "op": "stop", "target": rid})
                except AgentGone:
                    pass

    async def fetch(self, remote_dir: str, names: Sequence[str], dest: Path) -> FetchReport:
        """Copy files by pipelined reads, each file's size checked against the node's."""
        dest.mkdir(parents=True, exist_ok=True)
        tally = FetchTally()
        for name in fetchable(names, tally):
            remote = f"{remote_dir.rstrip('/')}/{name}"
            want = await self.size(remote)
            if want is None:
                tally.miss(name)
                continue
            try:
                tally.add(name, want, await self._copy(remote, want, dest / name))
            except OSError:
                tally.miss(name)  # the controller side could not write it
        return tally.report()

    async def _copy(self, remote: str, size: int, local: Path) -> int:
        offsets = list(range(0, size, FETCH_CHUNK))
        got = 0
        with open(local, "wb") as f:
            for i in range(0, len(offsets), FETCH_IN_FLIGHT):
                batch = offsets[i : i + FETCH_IN_FLIGHT]
                # No per-request limit: a large log may take long; keepalives notice a dead link.
                parts = await asyncio.gather(
                    *(
                        self.call("read", path=remote, offset=o, max=FETCH_CHUNK, timeout=None)
                        for o in batch
                    )
                )
                for part in parts:
                    data = base64.b64decode(part.get("data") or "")
                    f.write(data)
                    got += len(data)
                    if len(data) < FETCH_CHUNK:
                        return got
        return got


def _valid_env(env: Mapping[str, str]) -> dict[str, str]:
    from engine.transport.detach import valid_env_name

    return {str(k): str(v) for k, v in env.items() if valid_env_name(str(k))}
