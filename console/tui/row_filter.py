"""The runs table's `/` filter, k9s-style: which rows a typed text keeps; and its sort (N S O
M), which keeps a group's shards under it. Pure (no Textual).

Words are ANDed; a word matches a row when it is a substring (case-insensitive) of the row's
run id, node, state (identifier or the words shown), benchmark, scenario, mode or label.
`state:WORD` and `node:WORD` match only that field. A group row stays while it or one of its
shards matches, so a matching shard is never shown without its group.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from console.format import state_cell, state_label
from console.tui.state import ConsoleState


def _fields(state: ConsoleState, key: str) -> dict[str, str]:
    if key in state.groups:
        g = state.groups[key]
        return {
            "run": f"group {g.name} {g.group_id}",
            "node": " ".join(g.nodes),
            "state": f"{g.state} {state_cell(g.state)}",
            "other": f"{g.benchmark} {g.scenario} {g.mode}",
        }
    r = state.runs[key]
    return {
        "run": r.run_id,
        "node": r.node,
        "state": f"{r.state} {state_label(r.state)} {state_cell(r.state)}",
        "other": f"{r.benchmark} {r.scenario} {r.mode} {r.label} {r.stage}",
    }


def row_matches(state: ConsoleState, key: str, text: str) -> bool:
    fields = {k: v.lower() for k, v in _fields(state, key).items()}
    everything = " ".join(fields.values())
    for word in text.lower().split():
        field, sep, value = word.partition(":")
        if sep and field in ("state", "node"):
            if value not in fields[field]:
                return False
        elif word not in everything:
            return False
    return True


def filter_keys(state: ConsoleState, keys: Sequence[str], text: str) -> list[str]:
    """`keys` (table order) that `text` keeps; all of them for a blank text."""
    if not text.strip():
        return list(keys)
    kept = {k for k in keys if row_matches(state, k, text)}
    for g in state.groups.values():
        if any(s in kept for s in g.shards):
            kept.add(g.group_id)
    return [k for k in keys if k in kept]


# --- sorting (k9s's shift+letter: the same key again reverses) ------------------------------

# The columns a key sorts by, and the word the table's title uses for each.
SORT_COLUMNS = {"run": "name", "state": "state", "node": "node", "metric": "LoadGen metric"}
# A state's place when sorted by state: trouble first, then what goes, what waits, what ended
# well. States not named here sort after these, by their word.
_STATE_RANK = (
    "failed", "cancel_failed", "fetch_failed", "unreachable", "timed_out", "node_failed",
    "preempted", "out_of_memory", "stalled", "link_lost", "running", "starting", "collecting",
    "pending", "queued", "planned", "harness_error_after_complete", "succeeded", "finished",
    "cancelled",
)  # fmt: skip


def _natural(text: str) -> tuple[str | int, ...]:
    """`s1-fast-90` before `s1-fast-100`: the numbers in a name compare as numbers (strings
    and numbers alternate in the parts, so like always meets like)."""
    return tuple(int(p) if i % 2 else p for i, p in enumerate(re.split(r"(\d+)", text)))


def _state_key(state: str) -> tuple[int, str]:
    return (_STATE_RANK.index(state) if state in _STATE_RANK else len(_STATE_RANK), state)


def _metric(state: ConsoleState, key: str) -> float | None:
    if key in state.groups:
        s = state.groups[key].summary
        m = s.sum_loadgen_metric if s is not None else None
    else:
        s = state.runs[key].summary
        m = s.loadgen.metric if s is not None else None
    return m.value if m is not None else None


def _sort_value(state: ConsoleState, key: str, column: str) -> tuple[object, ...]:
    if key in state.groups:
        g = state.groups[key]
        name, node, st = f"group {g.name}", ",".join(g.nodes), g.state
    else:
        r = state.runs[key]
        name, node, st = r.run_id, r.node, r.state
    if column == "state":
        return (*_state_key(st), _natural(name))
    if column == "node":
        return (_natural(node), _natural(name))
    return (_natural(name),)


def sort_keys(
    state: ConsoleState, keys: Sequence[str], column: str | None, reverse: bool = False
) -> list[str]:
    """`keys` (table order: a group followed by its shards) sorted by `column`; a group's
    shards stay under it, sorted among themselves. A run without a LoadGen metric sorts
    after those with one, whichever the direction. `column` None: `keys` as they are."""
    if column is None:
        return list(keys)
    shard_of = {s: g for g, row in state.groups.items() for s in row.shards}
    blocks: list[list[str]] = []
    for key in keys:
        if shard_of.get(key) in keys and blocks:
            blocks[-1].append(key)
        else:
            blocks.append([key])

    def order(items: list[str]) -> list[str]:
        if column == "metric":
            known = [k for k in items if _metric(state, k) is not None]
            rest = [k for k in items if _metric(state, k) is None]
            known.sort(key=lambda k: _metric(state, k) or 0.0, reverse=reverse)
            return known + rest  # missing last, in table order
        return sorted(items, key=lambda k: _sort_value(state, k, column), reverse=reverse)

    by_top = {b[0]: b for b in blocks}
    out: list[str] = []
    for top in order([b[0] for b in blocks]):
        out += [top, *order(by_top[top][1:])]
    return out
