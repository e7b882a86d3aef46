"""What Slurm says about one job, read from its own commands' output.

`scontrol show job -o ID` is the source while slurmctld holds the job (22.05 has no `--json`
for it; it is one line of Key=Value whose values may hold spaces, so it is parsed by known keys
only). Once slurmctld has forgotten the job (after MinJobAge) only accounting knows it: text
`sacct -P` (its `--json` exit code is always 0 in 22.05), or `sacct -c` (the jobcomp file) where
there is no slurmdbd. Times are epoch seconds because every command runs with
`SLURM_TIME_FORMAT=%s`.

The mapping from Slurm's end states to run states lives here too: one table, tested on
recorded output (tests/data/slurm).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.model import RunState

# Keys read from `scontrol show job -o`. A value runs until the next ` Key=` of any key
# (values such as Reason can hold spaces), so the split uses every key scontrol prints.
_KEY = re.compile(r"(?:^| )([A-Za-z][A-Za-z/:_]*)=")

PENDING_STATES = frozenset({"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "RESV_DEL_HOLD"})
RUNNING_STATES = frozenset(
    {"RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT", "RESIZING"}
)
# How Slurm ended a job that did not end by itself, as the run's state. CANCELLED is not
# here: it depends on who cancelled (mlconsole's own cancel, or someone else: `slurm_end`).
END_STATES: dict[str, RunState] = {
    "TIMEOUT": RunState.TIMED_OUT,
    "DEADLINE": RunState.TIMED_OUT,
    "NODE_FAIL": RunState.NODE_FAILED,
    "BOOT_FAIL": RunState.NODE_FAILED,
    "PREEMPTED": RunState.PREEMPTED,
    "OUT_OF_MEMORY": RunState.OUT_OF_MEMORY,
    "CANCELLED": RunState.CANCELLED,
}
_END_WORDS = {
    "TIMEOUT": "Slurm ended the job at its time limit",
    "DEADLINE": "Slurm ended the job at its deadline",
    "NODE_FAIL": "the job's node failed",
    "BOOT_FAIL": "the job's node failed to boot",
    "PREEMPTED": "Slurm preempted the job for another",
    "OUT_OF_MEMORY": "the job ran out of memory (killed by Slurm's cgroup)",
    "CANCELLED": "the job was cancelled outside mlconsole (scancel)",
}


@dataclass(frozen=True)
class JobInfo:
    """One job as Slurm reports it. `exit_code`/`signal` are Slurm's `ExitCode=code:signal`."""

    job_id: str
    state: str  # PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT, ...
    reason: str | None = None  # None when Slurm says "None"
    exit_code: int | None = None
    signal: int | None = None
    started_at: float | None = None
    ended_at: float | None = None
    nodes: str | None = None  # NodeList, e.g. node[1-2]
    batch_host: str | None = None
    stdout: str | None = None  # expanded path (scontrol only)

    @property
    def pending(self) -> bool:
        return self.state in PENDING_STATES

    @property
    def running(self) -> bool:
        return self.state in RUNNING_STATES

    @property
    def over(self) -> bool:
        return not (self.pending or self.running)


def _fields(line: str) -> dict[str, str]:
    marks = list(_KEY.finditer(line))
    out: dict[str, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(line)
        out.setdefault(m.group(1), line[m.end() : end].strip())
    return out


def _epoch(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None  # "Unknown", "None"


def _exit_pair(value: str | None) -> tuple[int | None, int | None]:
    if not value or ":" not in value:
        return None, None
    code, _, sig = value.partition(":")
    try:
        return int(code), int(sig)
    except ValueError:
        return None, None


def _word(value: str | None) -> str | None:
    return None if value in (None, "", "None", "(null)") else value


def parse_scontrol(text: str, job_id: str) -> JobInfo | None:
    """The job's line of `scontrol show job -o` output, None when it is not there."""
    for line in text.splitlines():
        f = _fields(line.strip())
        if f.get("JobId") != job_id:
            continue
        code, sig = _exit_pair(f.get("ExitCode"))
        return JobInfo(
            job_id=job_id,
            state=(f.get("JobState") or "UNKNOWN").split()[0],
            reason=_word(f.get("Reason")),
            exit_code=code,
            signal=sig,
            started_at=_epoch(f.get("StartTime")),
            ended_at=_epoch(f.get("EndTime")),
            nodes=_word(f.get("NodeList")),
            batch_host=_word(f.get("BatchHost")),
            stdout=_word(f.get("StdOut")),
        )
    return None


SACCT_FIELDS = "jobid,state,exitcode,start,end,nodelist"


def parse_sacct(text: str, job_id: str) -> JobInfo | None:
    """The job's allocation line of `sacct -P -n -o SACCT_FIELDS` (or `sacct -c`) output;
    steps (`ID.batch`, `ID.0`) are skipped. `CANCELLED by 0` keeps its first word."""
    found = None
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) < 6 or parts[0] != job_id:
            continue
        code, sig = _exit_pair(parts[2])
        found = JobInfo(
            job_id=job_id,
            state=parts[1].split()[0] if parts[1] else "UNKNOWN",
            exit_code=code,
            signal=sig,
            started_at=_epoch(parts[3]),
            ended_at=_epoch(parts[4]),
            nodes=_word(parts[5]),
        )
    return found  # the last line wins: a requeued job's latest record


def slurm_end(state: str | None, cancelled_by_us: bool) -> tuple[RunState, str] | None:
    """The run state and the sentence for a job Slurm ended, None when the job ended by
    itself (COMPLETED, FAILED: LoadGen's logs and the exit code decide) or mlconsole
    cancelled it."""
    if state is None or state not in END_STATES:
        return None
    if state == "CANCELLED" and cancelled_by_us:
        return None
    return END_STATES[state], _END_WORDS[state]
