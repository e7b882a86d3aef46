"""The controller itself as a node: processes are started with the same detached wrapper as
on SSH nodes, and files are read in place."""

from __future__ import annotations

import asyncio
import os
import select
import shlex
import shutil
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path

from engine.errors import TransportError
from engine.model import NodeSpec
from engine.transport import detach
from engine.transport.base import (
    CommandResult,
    FetchReport,
    FetchTally,
    LaunchRequest,
    ProcessStatus,
    RunHandle,
)


class DirectPort:
    """A port reached without a tunnel."""

    def __init__(self, port: int) -> None:
        self.local_port = port

    def close(self) -> None:
        return None


class ExitWatch:
    """A pidfd held on one run's wrapper for as long as the run is followed, registered with
    the event loop once: the runner's pauses and `status` ask it instead of opening a pidfd
    and reading /proc/<pid>/stat and cmdline on every poll (64 runs are polled 128 times a
    second). It is opened before `LocalTransport.watch` checks that the pid is this run's
    wrapper, so a pid reused later can never be mistaken for the run.

    A pidfd (Linux 5.3+) stands for waitpid because the wrapper is not our child (setsid,
    reparented); without one the runner polls, and the end is seen up to a poll later."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int) -> None:
        self.loop = loop
        self.fd = fd
        self.gone = False
        self._callbacks: list[Callable[[], None]] = []
        self._poll = select.poll()  # select.select cannot take a descriptor past 1023
        self._poll.register(fd, select.POLLIN)
        loop.add_reader(fd, self._fired)

    def _fired(self) -> None:
        self.gone = True
        self.loop.remove_reader(self.fd)  # the fd stays readable: once is enough
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def exited(self) -> bool:
        """Whether the wrapper has exited (or is a zombie), asked of the kernel now rather
        than from the loop's last look."""
        if not self.gone and self._poll.poll(0):
            self._fired()
        return self.gone

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` once when the wrapper exits (at once if it has); returns the
        function that takes the call back."""
        if self.exited():
            callback()
            return lambda: None
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

    def close(self) -> None:
        if not self.gone and not self.loop.is_closed():
            self.loop.remove_reader(self.fd)
        self.gone = True
        self._callbacks.clear()
        os.close(self.fd)


class LocalTransport:
    def __init__(self, node: NodeSpec) -> None:
        self.node = node
        self._watches: dict[tuple[int, str], ExitWatch] = {}

    @property
    def connected(self) -> bool:
        return True

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        for watch in self._watches.values():
            watch.close()
        self._watches.clear()

    async def home(self) -> str:
        return str(Path.cwd())

    async def run(self, argv: Sequence[str], *, timeout: float = 30.0) -> CommandResult:
        return await self.run_shell(shlex.join(argv), timeout=timeout)

    async def run_shell(
        self, script: str, *, timeout: float = 30.0, env: Mapping[str, str] | None = None
    ) -> CommandResult:
        proc = await asyncio.create_subprocess_exec(
            "sh",
            "-c",
            script,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **self.node.env, **(env or {})},
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return CommandResult(124, "", f"timed out after {timeout:g}s")
        return CommandResult(
            proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")
        )

    async def stream_lines(self, argv: Sequence[str]) -> AsyncIterator[str]:
        """With the node's env, as `run_shell` has it (PATH, SLURM_CONF, ...)."""
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, **self.node.env},
        )
        try:
            assert proc.stdout is not None
            async for raw in proc.stdout:
                yield raw.decode(errors="replace").rstrip("\r\n")
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    async def make_dirs(self, path: str) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)

    async def write_file(self, path: str, data: bytes, *, mode: int = 0o644) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(path, mode)

    async def read_from(self, path: str, offset: int, max_bytes: int = 1 << 20) -> bytes:
        """With os.pread on a bare descriptor: every run's tails and status files are read
        this way twice a second, and a buffered file object costs several times as much."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:  # absent, unreadable, a vanished /proc entry
            return b""
        try:
            data = os.pread(fd, max_bytes, offset)
            if not data or len(data) == max_bytes:
                return data
            parts = [data]  # a short read is the end of the file, except on some /proc files
            got = len(data)
            while got < max_bytes and (more := os.pread(fd, max_bytes - got, offset + got)):
                parts.append(more)
                got += len(more)
            return b"".join(parts)
        except OSError:  # a directory (EISDIR), a process gone mid-read
            return b""
        finally:
            os.close(fd)

    async def size(self, path: str) -> int | None:
        try:
            return os.stat(path).st_size
        except OSError:
            return None

    async def list_files(self, path: str) -> dict[str, int]:
        try:
            with os.scandir(path) as it:
                return {e.name: e.stat().st_size for e in it if e.is_file(follow_symlinks=False)}
        except OSError:
            return {}

    async def start(self, request: LaunchRequest) -> RunHandle:
        await self.make_dirs(request.run_dir)
        for name, data in request.files.items():
            await self.write_file(f"{request.run_dir}/{name}", data, mode=0o600)
        await self.write_file(
            f"{request.run_dir}/{detach.COMMAND}", request.command.encode() + b"\n", mode=0o600
        )
        await self.write_file(
            f"{request.run_dir}/{detach.LAUNCH}",
            detach.launch_script(request.run_dir, request.cwd).encode(),
            mode=0o700,
        )
        # The environment is inherited by the wrapper, never written into launch.sh.
        env = {k: v for k, v in request.env.items() if detach.valid_env_name(k)}
        res = await self.run_shell(detach.detach_line(request.run_dir), timeout=15, env=env)
        try:
            pid = int(res.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError) as exc:
            raise TransportError(
                f"could not start run {request.run_id} on {self.node.name}: {res.stderr.strip()}"
            ) from exc
        return RunHandle(self.node.name, request.run_id, request.run_dir, pid)

    async def status(self, handle: RunHandle) -> ProcessStatus:
        """As on every node (`detach.read_status`), except that whether the wrapper is alive
        is asked of its pidfd once one is held (`watch`): no /proc read per poll."""
        watch = await self.watch(handle)

        async def alive(_transport: object, _handle: RunHandle) -> bool:
            if watch is None or watch.exited():
                return await detach.wrapper_alive(self, handle)
            return True

        status = await detach.read_status(self, handle, alive=alive)
        if not status.live:
            self.release(handle)
        return status

    async def watch(self, handle: RunHandle) -> ExitWatch | None:
        """The run's exit watch, opened on the first call while /proc says the pid is this
        run's wrapper (None: it is not, or there is no pidfd here)."""
        key = (handle.pid, handle.run_dir)
        loop = asyncio.get_running_loop()
        watch = self._watches.get(key)
        if watch is not None and watch.loop is loop:
            return watch
        if watch is not None:  # made on another event loop (a finished asyncio.run)
            self.release(handle)
        try:
            fd = os.pidfd_open(handle.pid)
        except (AttributeError, OSError):  # gone, or no pidfd here
            return None
        # Checked after the pidfd is open: a pid reused before the open fails the check, and
        # one reused after it leaves the pidfd readable (the process it names has exited).
        watch = ExitWatch(loop, fd)
        if not await detach.wrapper_alive(self, handle) or watch.exited():
            watch.close()
            return None
        self._watches[key] = watch
        return watch

    def release(self, handle: RunHandle) -> None:
        """Close the run's exit watch (the run ended, or is no longer followed)."""
        watch = self._watches.pop((handle.pid, handle.run_dir), None)
        if watch is not None:
            watch.close()

    async def on_exit(
        self, handle: RunHandle, callback: Callable[[], None]
    ) -> Callable[[], None] | None:
        """Call `callback` once when the run's wrapper exits; returns what takes the call
        back, or None when the exit cannot be watched (the runner then polls as before)."""
        watch = await self.watch(handle)
        return watch.subscribe(callback) if watch is not None else None

    async def cancel(self, handle: RunHandle, *, grace_s: float = 5.0) -> None:
        """As on SSH nodes (`detach.cancel_run`): the pid must still be this run's, zombies
        are not alive, and a group that survives TERM and KILL is a TransportError."""
        await detach.cancel_run(self, handle, self.node.name, grace_s=grace_s)

    async def forward_port(self, host: str, port: int) -> DirectPort:
        """The controller is the node: its ports are reached as they are."""
        return DirectPort(port)

    async def fetch(self, remote_dir: str, names: Sequence[str], dest: Path) -> FetchReport:
        dest.mkdir(parents=True, exist_ok=True)

        def copy() -> FetchReport:
            tally = FetchTally()
            for name in names:
                src = Path(remote_dir) / name
                try:
                    want = src.stat().st_size
                    if src.resolve() != (dest / name).resolve():
                        shutil.copyfile(src, dest / name)
                    tally.add(name, want, (dest / name).stat().st_size)
                except OSError:
                    tally.miss(name)
            return tally.report()

        return await asyncio.to_thread(copy)
