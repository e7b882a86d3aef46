"""Charts drawn by processes forked before polars, numpy and matplotlib are imported.

Why: `mlconsole report` over 1,000 runs spends about half its time in matplotlib (its import
and the four figures) and most of the rest importing polars, reading summaries and writing
every run's report. A process forked at the start of the command imports matplotlib while this
one imports polars and reads the summaries; it then forks a second worker, which inherits
matplotlib already imported, and the two draw the charts between them while this process
writes the run reports. On two cores the parts overlap instead of adding up. A spawned process
was tried and was slower: it re-imports everything, interpreter start included; a fork
inherits what is already imported.

Forking is only safe while the forking process has a single thread (a lock held by another
thread at the fork would stay held in the child forever), so `ChartProcess.start` forks only
on Linux and only when this process has one thread: before polars is imported (it starts its
thread pool on import). Otherwise it returns None and the caller draws in-process. The first
worker imports numpy with one BLAS thread (OPENBLAS_NUM_THREADS=1: numpy's BLAS would start a
thread pool otherwise), checks it still has one thread, and only then forks the second; where
it cannot, it runs the second worker's job itself, after its own.

The workers never write to stdout, ignore Ctrl-C (the parent handles it and closes the pipes)
and leave through `os._exit`: no atexit handler, no buffered output of the parent's, runs
twice. Each exits when its job pipe closes, so none outlives the parent.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
from collections.abc import Callable, Sequence
from typing import Any

# Imported before the fork, so parent and workers share them instead of importing them again:
# the charts' own module and what it reads with (the results store, the telemetry reader).
# None of them starts a thread or imports polars or numpy.
import engine.analysis.charts  # noqa: F401
import engine.telemetry.record  # noqa: F401

_LEN = struct.Struct("!Q")
WORKERS = 2

Job = tuple[Callable[..., Any], tuple[Any, ...]]


def _single_threaded() -> bool:
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def _write(fd: int, payload: bytes) -> None:
    data = memoryview(_LEN.pack(len(payload)) + payload)
    while data:
        data = data[os.write(fd, data) :]


def _read(fd: int) -> bytes | None:
    """One message, or None when the other end closed before a whole one came."""
    head = _read_exactly(fd, _LEN.size)
    if head is None:
        return None
    return _read_exactly(fd, _LEN.unpack(head)[0])


def _read_exactly(fd: int, n: int) -> bytes | None:
    parts, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def warm_up_charts() -> None:
    """What drawing the charts needs imported (matplotlib; no polars: they are sent as plain
    rows, `engine.analysis.charts.ChartData`)."""
    from engine.analysis import history_chart  # noqa: F401
    from engine.analysis.charts import warm_up

    warm_up()


class ChartProcessError(RuntimeError):
    """A chart worker ended without an answer (killed, or out of memory)."""


class ChartProcess:
    """Forked workers that run one job each: `run(jobs)` pickles job i to worker i, which runs
    it and pickles back its result (or its exception, raised here)."""

    def __init__(self, pid: int, job_fds: list[int], result_fds: list[int]) -> None:
        self.pid = pid  # the first worker; it reaps the others
        self._job_fds = job_fds
        self._result_fds = result_fds
        self.workers = len(result_fds)

    @classmethod
    def start(
        cls, warm_up: Callable[[], object] | None = None, workers: int = WORKERS
    ) -> ChartProcess | None:
        """Fork the first worker, or None where a fork is not safe here. While it waits for
        its job it calls `warm_up` (default: `warm_up_charts`) and forks the others."""
        if sys.platform != "linux" or not hasattr(os, "fork") or not _single_threaded():
            return None
        pipes = [(os.pipe(), os.pipe()) for _ in range(max(1, workers))]
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        pid = os.fork()
        if pid == 0:
            _first_worker(pipes, warm_up or warm_up_charts)
        for (job_r, _), (_, result_w) in pipes:
            os.close(job_r)
            os.close(result_w)
        return cls(pid, [job_w for (_, job_w), _ in pipes], [r for _, (r, _) in pipes])

    def run(self, jobs: Sequence[Job]) -> list[Any]:
        """Run job i (`(fn, args)`) in worker i and return their results in order; the first
        exception among them is raised here. Once only: the workers exit after their job, and
        a worker given no job exits at once."""
        if not self._job_fds or len(jobs) > len(self._job_fds):
            raise ChartProcessError(f"{len(jobs)} jobs for {len(self._job_fds)} chart workers")
        try:
            for fd, job in zip(self._job_fds, jobs, strict=False):
                try:
                    _write(fd, pickle.dumps(job, pickle.HIGHEST_PROTOCOL))
                except BrokenPipeError:
                    pass  # it died; reading its answer says so
        finally:
            self._close_jobs()
        answers = [_read(fd) for fd in self._result_fds[: len(jobs)]]
        self.close()
        out = []
        for answer in answers:
            if answer is None:
                raise ChartProcessError("a chart worker ended without drawing its charts")
            try:
                ok, value = pickle.loads(answer)
            except Exception as exc:  # noqa: BLE001 - e.g. an exception that does not unpickle
                why = f"a chart worker's answer did not unpickle: {exc!r}"
                raise ChartProcessError(why) from None
            if not ok:
                raise value
            out.append(value)
        return out

    def _close_jobs(self) -> None:
        for fd in self._job_fds:
            os.close(fd)
        self._job_fds = []

    def close(self) -> None:
        """Close the pipes (an idle worker then exits) and reap the workers. Idempotent."""
        self._close_jobs()
        for fd in self._result_fds:
            os.close(fd)
        self._result_fds = []
        if self.pid:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = 0

    def __enter__(self) -> ChartProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Pair = tuple[tuple[int, int], tuple[int, int]]  # (job pipe, result pipe) of one worker
Pipes = list[Pair]


def _first_worker(pipes: Pipes, warm_up: Callable[[], object]) -> None:
    """Warm up, fork the other workers (or serve their jobs too), serve job 0, reap."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stdout: what the command prints
        for (_, job_w), (result_r, _) in pipes:
            os.close(job_w)
            os.close(result_r)
        os.environ["OPENBLAS_NUM_THREADS"] = "1"  # before numpy: see the module's docstring
        try:
            warm_up()
        except Exception:  # noqa: BLE001 - the job itself reports what is wrong
            pass
        mine, forked, served_here = pipes[0], [], []
        for k, pair in enumerate(pipes[1:], start=1):
            pid = os.fork() if _single_threaded() else -1
            if pid == 0:  # every pipe end the first worker still holds but this one
                _other_worker(pair, [mine, *served_here, *pipes[k + 1 :]])
            if pid > 0:
                forked.append(pid)
                _close(pair)
            else:
                served_here.append(pair)
        for pair in (mine, *served_here):
            _serve(pair)
        for pid in forked:
            os.waitpid(pid, 0)
    except BaseException:  # noqa: BLE001 - never unwind into the parent's code
        code = 1
    finally:
        os._exit(code)


def _other_worker(pair: Pair, not_mine: list[Pair]) -> None:
    """A worker forked by the first: its own pipes only, one job."""
    try:
        for other in not_mine:
            _close(other)
        _serve(pair)
    finally:
        os._exit(0)


def _close(pair: Pair) -> None:
    """A worker's ends of its pipes: its job's read end, its result's write end."""
    (job_r, _), (_, result_w) = pair
    os.close(job_r)
    os.close(result_w)


def _serve(pair: Pair) -> None:
    """Read one job, run it, write back its result or its exception."""
    (job_fd, _), (_, result_fd) = pair
    job = _read(job_fd)
    if job is None:
        return
    try:
        fn, args = pickle.loads(job)
        answer = (True, fn(*args))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
        answer = (False, exc)
    try:
        payload = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - an exception that does not pickle
        payload = pickle.dumps((False, ChartProcessError(repr(exc))))
    _write(result_fd, payload)
