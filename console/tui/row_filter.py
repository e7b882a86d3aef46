"""The runs table's `/` filter, k9s-style: which rows a typed text keeps. Pure (no Textual).

Words are ANDed; a word matches a row when it is a substring (case-insensitive) of the row's
run id, node, state (identifier or the words shown), benchmark, scenario, mode or label.
`state:WORD` and `node:WORD` match only that field. A group row stays while it or one of its
shards matches, so a matching shard is never shown without its group.
"""

from __future__ import annotations

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
