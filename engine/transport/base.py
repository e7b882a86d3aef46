"""The transport protocol every node offers, local or remote.

A transport moves bytes and starts processes; it knows nothing of LoadGen. Runs are started
detached (see `engine.transport.detach`), so they survive the controller's connection, and
files are read from byte offsets, so a reconnect neither loses nor repeats a line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from engine.model import ContainerRef, NodeSpec


@dataclass(frozen=True)
class LaunchRequest:
    """Everything needed to start one run on a node.

    `files` are written into `run_dir` before the launch (command.sh, user.conf ...), as data:
    nothing in them passes through a shell command line.
    """

    run_id: str
    run_dir: str  # node-side, absolute
    command: str  # the rendered harness command, written to command.sh
    cwd: str  # node-side working directory of the harness, absolute
    env: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class RunHandle:
    """Enough to find a detached run again, from this process or a later one."""

    node: str
    run_id: str
    run_dir: str
    pid: int
    # A scheduler's job id (Slurm), when the run is a job; None on local and SSH nodes.
    job_id: str | None = None
    container: ContainerRef | None = None  # the run's container, when it runs in one


@dataclass(frozen=True)
class ProcessStatus:
    state: str  # "pending" | "running" | "exited" | "vanished"
    exit_code: int | None = None
    started_at: float | None = None  # unix seconds, as the node's wrapper recorded them
    ended_at: float | None = None
    # A scheduler's words (Slurm): its job state (PENDING, TIMEOUT, ...) and reason
    # (Resources, TimeLimit, ...), and the host the job was given; None elsewhere.
    scheduler_state: str | None = None
    reason: str | None = None
    host: str | None = None
    address: str | None = None  # how that host is reached (Slurm's NodeAddr)

    @property
    def live(self) -> bool:
        """Not over yet: queued in a scheduler or running."""
        return self.state in ("pending", "running")


@dataclass(frozen=True)
class CommandResult:
    exit_status: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class FetchReport:
    """What came back. `missing` were listed but could not be copied or had the wrong size."""

    copied: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    bytes: int = 0

    @property
    def ok(self) -> bool:
        return not self.missing


@dataclass
class FetchTally:
    """A fetch in progress. Every transport's `fetch` counts each file here, so the rule that
    a copy counts only when its size is the node's is written once."""

    copied: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    total: int = 0

    def miss(self, name: str) -> None:
        self.missing.append(name)

    def add(self, name: str, want: int | None, got: int) -> None:
        """`want`: the node's size (None: unknown); `got`: what landed on the controller."""
        if want is None or got != want:
            self.missing.append(name)
        else:
            self.copied.append(name)
            self.total += got

    def report(self) -> FetchReport:
        return FetchReport(tuple(self.copied), tuple(self.missing), self.total)


class PortForward(Protocol):
    """A controller-side port that reaches a port on (or near) the node."""

    @property
    def local_port(self) -> int: ...

    def close(self) -> None: ...


@runtime_checkable
class Transport(Protocol):
    node: NodeSpec

    async def connect(self) -> None:
        """Open the connection (no-op for local). Raises NodeUnreachable or HostKeyError."""

    async def close(self) -> None: ...

    @property
    def connected(self) -> bool: ...

    async def home(self) -> str:
        """The node-side base directory for relative paths (absolute)."""

    async def run(self, argv: Sequence[str], *, timeout: float = 30.0) -> CommandResult:
        """Run a short command to completion. argv is quoted, never interpolated."""

    async def run_shell(
        self, script: str, *, timeout: float = 30.0, env: Mapping[str, str] | None = None
    ) -> CommandResult:
        """Run a short POSIX sh script written by mlconsole itself (values already quoted).
        `env` is added to the node's environment for this command's process only (never
        written to a file or a command line)."""

    def stream_lines(self, argv: Sequence[str]) -> AsyncIterator[str]:
        """Lines of a long-running command's stdout (e.g. `nvidia-smi -lms`) until it ends."""

    async def make_dirs(self, path: str) -> None: ...

    async def write_file(self, path: str, data: bytes, *, mode: int = 0o644) -> None: ...

    async def read_from(self, path: str, offset: int, max_bytes: int = 1 << 20) -> bytes:
        """Bytes of `path` from `offset`; b'' when there is nothing new or no such file."""

    async def size(self, path: str) -> int | None:
        """The file's size in bytes, None when it does not exist."""

    async def list_files(self, path: str) -> dict[str, int]:
        """Regular files directly in `path` with their sizes ({} when the dir is missing)."""

    async def start(self, request: LaunchRequest) -> RunHandle: ...

    async def status(self, handle: RunHandle) -> ProcessStatus: ...

    async def cancel(self, handle: RunHandle, *, grace_s: float = 5.0) -> None:
        """Kill the run's whole process group: TERM, then KILL after `grace_s`."""

    async def fetch(self, remote_dir: str, names: Sequence[str], dest: Path) -> FetchReport:
        """Copy files from `remote_dir` into `dest`, checking each one's size."""

    async def forward_port(self, host: str, port: int) -> PortForward:
        """A controller port whose connections reach `host:port` as seen from the node
        (services: GPU nodes often expose only SSH). Local nodes need none: the same port."""
