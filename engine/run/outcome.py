"""How a followed run ended, decided once from what came back: the wrapper's exit code, the
scheduler's end state (Slurm), LoadGen's logs, the fetch. Split from the runner so the rule
reads in one place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.model import RunState
from engine.transport import detach
from engine.transport.base import RunHandle
from engine.transport.slurm_jobs import slurm_end


def what_runs(handle: RunHandle) -> str:
    """What holds a launched run: its Slurm job, or its process group."""
    return f"Slurm job {handle.job_id}" if handle.job_id else f"process group {handle.pid}"


def outcome(
    cancelled: bool, status: Any, logs: Any, fetch_ok: bool, fetch_detail: str, run_dir: Path
) -> tuple[RunState, str]:
    complete = bool(logs is not None and logs.complete)
    code = status.exit_code if status is not None else None
    if cancelled:
        return RunState.CANCELLED, "cancelled; partial results kept in " + str(run_dir)
    if not fetch_ok:
        return RunState.FETCH_FAILED, fetch_detail
    ended = slurm_end(getattr(status, "scheduler_state", None), cancelled)
    if ended is not None and not complete:
        state, words = ended
        reason = f" ({status.reason})" if status.reason else ""
        return state, f"{words}{reason}; partial results kept in {run_dir}"
    if status is not None and status.state == "vanished":
        return RunState.FAILED, "the run's process vanished without an exit code (killed?)"
    if complete and code == 0:
        return RunState.SUCCEEDED, ""
    if complete:
        return (
            RunState.HARNESS_ERROR_AFTER_COMPLETE,
            f"LoadGen wrote a complete summary, then the harness exited with code {code}",
        )
    why = "LoadGen's summary is incomplete"
    if code not in (None, 0):
        why = f"harness exited with code {code}; {why}"
    stderr_tail = _last_line(run_dir / detach.STDERR)
    if stderr_tail:
        why += f"; last stderr line: {stderr_tail}"
    return RunState.FAILED, why


def _last_line(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 4096))
            lines = f.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""
