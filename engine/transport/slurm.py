"""A Slurm partition as a node: runs are batch jobs, followed and cancelled through Slurm.

Commands (sbatch, scontrol, sacct, scancel, srun) run where Slurm's clients are: on this
machine, or on a login host over SSH (the SSH transport is reused for that hop, `host` in the
node's config). Files are read through the same hop, so the node's `workdir` must be on a
file system that the login host and the compute nodes share, as Slurm sites provide.

A run is `sbatch --parsable` around the same `launch.sh` as every other transport (exit code,
start and end times written by the wrapper inside the allocation). The job id comes back on
submit, is written to `<run_dir>/slurm_job_id` and into the journal, so a later console finds
the job again. State comes from `scontrol show job -o` (then `sacct`), and Slurm's words for a
job that waits (PENDING and its reason) or that Slurm ended (TIMEOUT, NODE_FAIL, PREEMPTED,
OUT_OF_MEMORY, CANCELLED) travel in `ProcessStatus.scheduler_state` / `reason`.

`--no-requeue` is always passed: a requeued job would start the harness a second time into
the same run dir (Slurm's default, JobRequeue=1, requeues on node failure).
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

from engine.errors import TransportError
from engine.model import NodeSpec, SlurmSpec
from engine.transport import detach
from engine.transport.base import (
    CommandResult,
    FetchReport,
    LaunchRequest,
    PortForward,
    ProcessStatus,
    RunHandle,
    Transport,
)
from engine.transport.slurm_jobs import SACCT_FIELDS, JobInfo, parse_sacct, parse_scontrol

JOB_ID_FILE = "slurm_job_id"
SLURM_OUT = "slurm.out"  # Slurm's own lines for the job (CANCELLED AT ..., DUE TO TIME LIMIT)
CANCEL_WAIT_S = 60.0  # KillWait (30 s by default) plus slurmctld's round trips


def allocation_flags(spec: SlurmSpec) -> list[str]:
    """What the node's config asks of an allocation: the same for sbatch and for srun."""
    argv = [f"--nodes={spec.nodes}"]
    for flag, value in (
        ("--partition", spec.partition),
        ("--account", spec.account),
        ("--qos", spec.qos),
        ("--gres", spec.gres),
        ("--constraint", spec.constraint),
        ("--time", spec.time_limit),
    ):
        if value:
            argv.append(f"{flag}={value}")
    return argv


def sbatch_argv(spec: SlurmSpec, request: LaunchRequest) -> list[str]:
    """`sbatch --parsable` for one run's launch.sh, with the node's options; every value is
    one argv element (quoted by the transport, never interpolated)."""
    d = request.run_dir
    argv = [
        "sbatch",
        "--parsable",
        "--no-requeue",
        f"--job-name=mlc-{request.run_id}",
        f"--output={d}/{SLURM_OUT}",
        f"--chdir={d}",
        *allocation_flags(spec),
        *spec.sbatch_options,
    ]
    argv.append(f"{d}/{detach.LAUNCH}")
    return argv


def parse_job_id(stdout: str) -> str | None:
    """`--parsable` prints `ID` or `ID;cluster`."""
    lines = stdout.strip().splitlines()
    if not lines:
        return None
    job = lines[-1].split(";")[0].strip()
    return job if job.isdigit() else None


def query_script(job_id: str) -> str:
    """One round trip: scontrol while slurmctld holds the job, else accounting (slurmdbd,
    else the jobcomp file). A marker line says which answered."""
    j = shlex.quote(job_id)
    return (
        "export SLURM_TIME_FORMAT=%s\n"
        f"scontrol show job -o {j} 2>/dev/null && exit 0\n"
        "echo '#sacct'\n"
        f"sacct -X -P -n -j {j} -o {SACCT_FIELDS} 2>/dev/null && exit 0\n"
        f"sacct -c -P -n -o {SACCT_FIELDS} 2>/dev/null\n"
    )


class SlurmTransport:
    """The `Transport` protocol over Slurm's commands; file operations go to `inner` (this
    machine, or the login host over SSH)."""

    def __init__(self, node: NodeSpec, inner: Transport | None = None) -> None:
        self.node = node
        self.spec = node.slurm or SlurmSpec()
        if inner is None:
            if node.host:
                from engine.transport.ssh import SshTransport

                inner = SshTransport(node)
            else:
                from engine.transport.local import LocalTransport

                inner = LocalTransport(node)
        self.inner: Transport = inner
        self._addresses: dict[str, str] = {}

    # --- the hop: delegated -------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.inner.connected

    async def connect(self) -> None:
        await self.inner.connect()

    async def close(self) -> None:
        await self.inner.close()

    async def home(self) -> str:
        return await self.inner.home()

    async def run(self, argv: Sequence[str], *, timeout: float = 30.0) -> CommandResult:
        return await self.inner.run(argv, timeout=timeout)

    async def run_shell(
        self, script: str, *, timeout: float = 30.0, env: Mapping[str, str] | None = None
    ) -> CommandResult:
        return await self.inner.run_shell(script, timeout=timeout, env=env)

    async def sh(
        self, script: str, *, timeout: float = 30.0, env: Mapping[str, str] | None = None
    ) -> CommandResult:
        """A script with the node's env (SLURM_CONF, ...) on either hop, plus `env`."""
        merged = {**self.node.env, **(env or {})}
        return await self.inner.run_shell(script, timeout=timeout, env=merged)

    def stream_lines(self, argv: Sequence[str]) -> AsyncIterator[str]:
        return self.inner.stream_lines(argv)

    async def make_dirs(self, path: str) -> None:
        await self.inner.make_dirs(path)

    async def write_file(self, path: str, data: bytes, *, mode: int = 0o644) -> None:
        await self.inner.write_file(path, data, mode=mode)

    async def read_from(self, path: str, offset: int, max_bytes: int = 1 << 20) -> bytes:
        return await self.inner.read_from(path, offset, max_bytes)

    async def size(self, path: str) -> int | None:
        return await self.inner.size(path)

    async def list_files(self, path: str) -> dict[str, int]:
        return await self.inner.list_files(path)

    async def fetch(self, remote_dir: str, names: Sequence[str], dest: Path) -> FetchReport:
        return await self.inner.fetch(remote_dir, names, dest)

    async def forward_port(self, host: str, port: int) -> PortForward:
        """`host` is the allocated node's address as Slurm gives it: reached from the login
        host through its SSH connection, or directly from this machine."""
        return await self.inner.forward_port(host, port)

    # --- jobs ---------------------------------------------------------------------------------

    async def start(self, request: LaunchRequest) -> RunHandle:
        """Write the run's files, then submit launch.sh. Slurm's refusal (a GRES the partition
        lacks, a partition that does not exist) is a TransportError with Slurm's words."""
        d = request.run_dir.rstrip("/")
        await self.make_dirs(d)
        # A reused dir (a service) must not show the last job's exit code as this one's.
        await self.run(["rm", "-f", *(f"{d}/{n}" for n in _WRAPPER_FILES)], timeout=15)
        for name, data in request.files.items():
            await self.write_file(f"{d}/{name}", data, mode=0o600)
        await self.write_file(f"{d}/{detach.COMMAND}", request.command.encode() + b"\n", mode=0o600)
        await self.write_file(
            f"{d}/{detach.LAUNCH}", detach.launch_script(d, request.cwd).encode(), mode=0o700
        )
        # sbatch exports its own environment to the job (--export=ALL): the run's env is
        # given to sbatch's process, never written into a file.
        env = {k: v for k, v in request.env.items() if detach.valid_env_name(k)}
        res = await self.sh(shlex.join(sbatch_argv(self.spec, request)), timeout=60, env=env)
        job = parse_job_id(res.stdout) if res.exit_status == 0 else None
        if job is None:
            said = res.stderr.strip().replace("sbatch: error: ", "") or "no job id came back"
            raise TransportError(
                f"Slurm refused run {request.run_id} on node {self.node.name}"
                f"{self._where()}: {said}"
            )
        await self.write_file(f"{d}/{JOB_ID_FILE}", job.encode() + b"\n", mode=0o600)
        return RunHandle(self.node.name, request.run_id, d, 0, job)

    def _where(self) -> str:
        return f" (partition {self.spec.partition})" if self.spec.partition else ""

    async def job_id(self, handle: RunHandle) -> str | None:
        if handle.job_id:
            return handle.job_id
        raw = await self.read_from(f"{handle.run_dir}/{JOB_ID_FILE}", 0, 64)
        job = raw.decode(errors="replace").strip()
        return job if job.isdigit() else None

    async def job_info(self, job_id: str) -> JobInfo | None:
        """What Slurm knows of the job, None when nothing does (purged, no accounting)."""
        res = await self.sh(query_script(job_id), timeout=40)
        head, _, rest = res.stdout.partition("#sacct")
        if info := parse_scontrol(head, job_id):
            return info
        return parse_sacct(rest, job_id)

    async def node_address(self, node_name: str) -> str:
        """The address Slurm itself uses for a node (NodeAddr), else its name; asked once
        per node name."""
        if (known := self._addresses.get(node_name)) is not None:
            return known
        res = await self.sh(f"scontrol show node -o {shlex.quote(node_name)}", timeout=30)
        for part in res.stdout.split():
            if part.startswith("NodeAddr="):
                self._addresses[node_name] = part.partition("=")[2] or node_name
                return self._addresses[node_name]
        return node_name

    async def status(self, handle: RunHandle) -> ProcessStatus:
        """Slurm's state for the job, with the wrapper's own exit code and times where it
        wrote them (Slurm's `ExitCode` is used when the wrapper was killed first)."""
        job = await self.job_id(handle)
        started, code, ended = await self._wrapper(handle.run_dir)
        info = await self.job_info(job) if job else None
        if info is None:
            if code is not None:
                return ProcessStatus("exited", code, started, ended)
            return ProcessStatus("vanished", None, started)
        common = {
            "scheduler_state": info.state,
            "reason": info.reason,
            "host": info.batch_host,
            "address": await self.node_address(info.batch_host) if info.batch_host else None,
        }
        if info.pending:
            return ProcessStatus("pending", None, None, None, **common)
        if info.running:
            return ProcessStatus("running", None, started or info.started_at, None, **common)
        if code is None and info.exit_code is not None:
            code = 128 + info.signal if info.signal else info.exit_code
        return ProcessStatus(
            "exited", code, started or info.started_at, ended or info.ended_at, **common
        )

    async def _wrapper(self, run_dir: str) -> tuple[float | None, int | None, float | None]:
        def num(raw: bytes) -> float | None:
            try:
                return float(raw.decode().strip())
            except (UnicodeDecodeError, ValueError):
                return None

        started = num(await self.read_from(f"{run_dir}/{detach.STARTED_AT}", 0, 64))
        code = num(await self.read_from(f"{run_dir}/{detach.EXIT_CODE}", 0, 64))
        ended = num(await self.read_from(f"{run_dir}/{detach.ENDED_AT}", 0, 64))
        return started, (int(code) if code is not None else None), ended

    async def cancel(self, handle: RunHandle, *, grace_s: float = 5.0) -> None:
        """`scancel` the job, then wait until Slurm says it is over: slurmstepd signals every
        process of every step (TERM, KILL after the site's KillWait), so nothing of the run is
        left once the job leaves COMPLETING. A job still not over is a TransportError."""
        job = await self.job_id(handle)
        if job is None:
            return
        info = await self.job_info(job)
        if info is None or info.over:
            return
        res = await self.sh(f"scancel {shlex.quote(job)}", timeout=30)
        if res.exit_status != 0:
            raise TransportError(
                f"scancel {job} (run {handle.run_id} on node {self.node.name}) failed: "
                f"{res.stderr.strip() or f'exit status {res.exit_status}'}"
            )
        deadline = time.monotonic() + max(grace_s, CANCEL_WAIT_S)
        while time.monotonic() < deadline:
            info = await self.job_info(job)
            if info is None or info.over:
                return
            await asyncio.sleep(0.2)
        raise TransportError(
            f"Slurm job {job} (run {handle.run_id} on node {self.node.name}) is still "
            f"{info.state if info else 'unknown'} {CANCEL_WAIT_S:g} s after scancel"
        )

    async def wait_started(self, job_id: str, poll_s: float = 0.5) -> None:
        """Return once the job has left the queue (running, or already over): a job step
        (`srun --overlap --jobid`) of a pending job is refused."""
        while True:
            info = await self.job_info(job_id)
            if info is None or not info.pending:
                return
            await asyncio.sleep(poll_s)

    def in_job(self, job_id: str) -> JobSteps:
        """This transport with its commands run inside job `job_id`'s allocation."""
        return JobSteps(self, job_id)


def srun_argv(job_id: str, argv: Sequence[str]) -> list[str]:
    """A command inside a job's allocation, beside the run (telemetry: nvidia-smi). The step
    overlaps the job's own (`--overlap`), so it needs no free CPU and does not wait."""
    return ["srun", "--overlap", f"--jobid={job_id}", "--nodes=1", "--ntasks=1", "--quiet", *argv]


class JobSteps(SlurmTransport):
    """A Slurm node's transport whose `run` and `stream_lines` are job steps of one job
    (`srun --overlap --jobid`): how the telemetry sampler reaches a compute node's GPUs."""

    def __init__(self, base: SlurmTransport, job_id: str) -> None:
        super().__init__(base.node, base.inner)
        self.job_id = job_id

    async def run(self, argv: Sequence[str], *, timeout: float = 30.0) -> CommandResult:
        return await self.sh(shlex.join(srun_argv(self.job_id, argv)), timeout=timeout)

    def stream_lines(self, argv: Sequence[str]) -> AsyncIterator[str]:
        return self.inner.stream_lines(self._env_argv(srun_argv(self.job_id, argv)))

    def _env_argv(self, argv: list[str]) -> list[str]:
        """`env K=V ... argv`: a stream has no env argument; SLURM_CONF and the like are
        configuration paths, not secrets."""
        pairs = [f"{k}={v}" for k, v in self.node.env.items() if k.startswith("SLURM_")]
        return ["env", *pairs, *argv] if pairs else argv


_WRAPPER_FILES = (detach.EXIT_CODE, detach.ENDED_AT, detach.STARTED_AT, detach.PID, JOB_ID_FILE)
