"""How the console writes what the engine recorded: numbers, durations and run states.

The batch lines, the TUI's table and its details screen all use these, so a figure reads the
same wherever it appears. Run states reach the console as `RunState`'s stable identifiers
(what the results files store); the words a person reads for each live here, once.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine import units
from engine.model import RunState

MISSING = units.MISSING

# The words for each run state, in lines (batch, details, notices).
STATE_LABELS: Mapping[str, str] = {
    RunState.QUEUED: "queued",
    RunState.STARTING: "starting",
    RunState.RUNNING: "running",
    RunState.STALLED: "stalled",
    RunState.LINK_LOST: "link lost, retrying",
    RunState.COLLECTING: "collecting",
    RunState.SUCCEEDED: "succeeded",
    RunState.HARNESS_ERROR_AFTER_COMPLETE: "complete, harness exited non-zero",
    RunState.FAILED: "failed",
    RunState.CANCELLED: "cancelled",
    RunState.CANCEL_FAILED: "cancel failed, may still run",
    RunState.FETCH_FAILED: "fetch failed (files left on node)",
    RunState.UNREACHABLE: "node unreachable, may still run",
    RunState.PENDING: "pending in the queue",
    RunState.TIMED_OUT: "timed out (scheduler's time limit)",
    RunState.NODE_FAILED: "node failed",
    RunState.PREEMPTED: "preempted",
    RunState.OUT_OF_MEMORY: "out of memory",
}

# The runs table's cells: a symbol as well as a word, so a state reads without color. The
# first three are the console's own: a planned run, and a group's states.
PLANNED = "planned"
STATE_CELLS: Mapping[str, str] = {
    PLANNED: "· planned",
    "finished": "✓ finished",
    RunState.QUEUED: "… queued",
    RunState.STARTING: "▸ starting",
    RunState.RUNNING: "▶ running",
    RunState.STALLED: "‖ stalled",
    RunState.LINK_LOST: "⚡ link lost",
    RunState.COLLECTING: "⇣ collecting",
    RunState.SUCCEEDED: "✓ succeeded",
    RunState.HARNESS_ERROR_AFTER_COMPLETE: "✓ done, exit≠0",
    RunState.FAILED: "✗ failed",
    RunState.CANCELLED: "⊘ cancelled",
    RunState.CANCEL_FAILED: "✗ cancel failed",
    RunState.FETCH_FAILED: "✗ fetch failed",
    RunState.UNREACHABLE: "✗ unreachable",
    RunState.PENDING: "… pending",
    RunState.TIMED_OUT: "✗ timed out",
    RunState.NODE_FAILED: "✗ node failed",
    RunState.PREEMPTED: "✗ preempted",
    RunState.OUT_OF_MEMORY: "✗ out of memory",
}


def state_label(state: str | None) -> str:
    """The words for a run state; an identifier this console does not know reads as itself."""
    if state is None:
        return MISSING
    return STATE_LABELS.get(state, str(state))


def state_cell(state: str) -> str:
    return STATE_CELLS.get(state, str(state))


def fmt_num(x: float | None, unit: str = "", digits: int = 3) -> str:
    """A figure to `digits` significant digits with its unit (`engine.units`, the reports'
    format too), or an em dash when it is missing."""
    return units.with_unit(x, unit, digits)


def fmt_duration(s: float | None) -> str:
    """`6 min 46 s`, `2 h 03 min`, `42 s` (`engine.units`); an em dash when unknown."""
    return units.duration(s)
