"""Charts drawn by a process forked before polars, numpy and matplotlib are imported.

Why: `mlconsole report` over 1,000 runs spends about half its time in matplotlib (its import
and the four figures) and most of the rest importing polars, reading summaries and writing
every run's report. A process forked at the start of the command imports matplotlib and draws
while this one imports polars, reads the summaries and writes the run reports: on two cores the
two halves overlap instead of adding up. A spawned process was tried and was slower: it
re-imports everything, interpreter start included; a fork inherits what is already imported.

Forking is only safe while this process has a single thread (a lock held by another thread
at the fork would stay held in the child forever), so `ChartProcess.start` forks only on
Linux and only when the process has one thread: before polars is imported (it starts its
thread pool on import). Otherwise it returns None and the caller draws in-process.

The child never writes to stdout, ignores Ctrl-C (the parent handles it and closes the pipe)
and leaves through `os._exit`: no atexit handler, no buffered output of the parent's, runs
twice. It exits when its job pipe closes, so it never outlives the parent.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
from collections.abc import Callable
from typing import Any

# Imported before the fork, so parent and child share them instead of importing them twice:
# the charts' own module and what it reads with (the results store, the telemetry reader).
# None of them starts a thread or imports polars or numpy.
import engine.analysis.charts  # noqa: F401
import engine.telemetry.record  # noqa: F401

_LEN = struct.Struct("!Q")


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
    """The chart process ended without an answer (killed, or out of memory)."""


class ChartProcess:
    """One forked child that runs one job: `run(fn, *args)` pickles the call, the child runs
    it and pickles back its result (or its exception, raised here)."""

    def __init__(self, pid: int, job_fd: int, result_fd: int) -> None:
        self.pid = pid
        self._job_fd: int | None = job_fd
        self._result_fd: int | None = result_fd

    @classmethod
    def start(cls, warm_up: Callable[[], object] | None = None) -> ChartProcess | None:
        """Fork the child, or None where a fork is not safe here. While it waits for its job
        the child calls `warm_up` (default: `warm_up_charts`)."""
        if sys.platform != "linux" or not hasattr(os, "fork") or not _single_threaded():
            return None
        job_r, job_w = os.pipe()
        result_r, result_w = os.pipe()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        pid = os.fork()
        if pid == 0:  # the child
            os.close(job_w)
            os.close(result_r)
            _child(job_r, result_w, warm_up or warm_up_charts)
        os.close(job_r)
        os.close(result_w)
        return cls(pid, job_w, result_r)

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run `fn(*args)` in the child and return its result; its exception is raised here.
        Once only: the child exits after its job."""
        if self._job_fd is None or self._result_fd is None:
            raise ChartProcessError("the chart process has already run its job")
        try:
            _write(self._job_fd, pickle.dumps((fn, args), pickle.HIGHEST_PROTOCOL))
        except BrokenPipeError:
            pass  # it died; the read below says so
        finally:
            os.close(self._job_fd)
            self._job_fd = None
        answer = _read(self._result_fd)
        self.close()
        if answer is None:
            raise ChartProcessError("the chart process ended without drawing the charts")
        try:
            ok, value = pickle.loads(answer)
        except Exception as exc:  # noqa: BLE001 - e.g. an exception class that does not unpickle
            why = f"the chart process's answer did not unpickle: {exc!r}"
            raise ChartProcessError(why) from None
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """Close the pipes (an idle child then exits) and reap the child. Idempotent."""
        for name in ("_job_fd", "_result_fd"):
            fd = getattr(self, name)
            if fd is not None:
                os.close(fd)
                setattr(self, name, None)
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


def _child(job_fd: int, result_fd: int, warm_up: Callable[[], object] | None) -> None:
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)  # stdout is the parent's: what the command prints
        if warm_up is not None:
            try:
                warm_up()
            except Exception:  # noqa: BLE001 - the job itself reports what is wrong
                pass
        job = _read(job_fd)
        if job is not None:
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
    except BaseException:  # noqa: BLE001 - never unwind into the parent's code
        code = 1
    finally:
        os._exit(code)
