"""A run waiting in Slurm's queue: its reason is shown live in the console's runs table and in
the batch lines (the events are the runner's, as tests/integration/test_slurm.py sees them
from a real Slurm)."""

from __future__ import annotations

import io

from console.batch import BatchPrinter
from console.tui.state import ConsoleState
from console.tui.widgets.runs_table import run_cells
from engine.events import RunQueued, RunStateChanged
from engine.model import Mode, RunSpec, RunState, Scenario

SPEC = RunSpec("s1-cluster-10", "cluster", "demo", Scenario.OFFLINE, Mode.PERFORMANCE, 10)
WAIT = "waiting in Slurm's queue (PENDING): Resources"


def test_the_runs_table_shows_the_queue_reason_and_follows_it() -> None:
    state = ConsoleState(None, clock=lambda: 0.0)
    pending = RunStateChanged(SPEC.run_id, "cluster", RunState.PENDING, WAIT)
    state.apply_all([RunQueued(SPEC), pending])
    cells = run_cells(state.runs[SPEC.run_id])
    assert cells[1] == "… pending" and cells[2] == "queued: Resources"
    other = WAIT.replace("Resources", "Priority")
    state.apply_all([RunStateChanged(SPEC.run_id, "cluster", RunState.PENDING, other)])
    assert run_cells(state.runs[SPEC.run_id])[2] == "queued: Priority"
    started = RunStateChanged(SPEC.run_id, "cluster", RunState.RUNNING, "Slurm job 7 on node1")
    state.apply_all([started])
    assert run_cells(state.runs[SPEC.run_id])[2] == ""


def test_the_batch_line_says_pending_and_why() -> None:
    out = io.StringIO()
    BatchPrinter(out)(RunStateChanged(SPEC.run_id, "cluster", RunState.PENDING, WAIT))
    assert out.getvalue().rstrip().split("] ", 1)[1] == (
        f"{SPEC.run_id:<22} {'cluster':<10} pending in the queue — {WAIT}"
    )
