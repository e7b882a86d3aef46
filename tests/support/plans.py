"""`[[plan]]` tables for test and bench configs, written from keyword arguments.

A test names only what its plan is about (kind, nodes, samples); the table it gets is the TOML
a person writes, so the config reader under test sees nothing it would not see in a real file.
The plans several tests share (the console's sweep-then-group) live here once, and so does
the one way tests run a plan through the real orchestrator and close it whatever happens.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from engine.config.load import load_config
from engine.events import Event
from engine.model import Config
from engine.run.orchestrator import Orchestrator, PlanOutcome


def toml_value(value: object) -> str:
    """`value` as a TOML value: strings quoted (JSON's escapes are TOML's), lists as arrays."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def plan_table(kind: str, **keys: object) -> str:
    """One `[[plan]]` table: `kind`, then `keys` in the order given."""
    lines = ["", "[[plan]]", f"kind = {toml_value(kind)}"]
    lines += [f"{key} = {toml_value(value)}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


def sweep_on_each(nodes: list[str], samples: int, name: str = "long") -> str:
    """One stage: a run of `samples` on each of `nodes`, side by side."""
    return plan_table("sweep", name=name, nodes=nodes, benchmark="demo", samples=[samples])


def sweep_then_group(samples: int, total_samples: int, split: str) -> str:
    """Two stages on nodes slow and fast: a sweep of one run of `samples` on each, then a
    group `pair` of `total_samples` split over both."""
    nodes = ["slow", "fast"]
    return plan_table(
        "sweep", name="sweep", nodes=nodes, benchmark="demo", samples=[samples]
    ) + plan_table(
        "group", name="pair", nodes=nodes, benchmark="demo", total_samples=total_samples,
        split=split,
    )  # fmt: skip


# The console tests' plan (nothing runs unless a test starts it).
SWEEP_AND_GROUP = sweep_then_group(150, 300, "equal")


# --- running a plan through the real orchestrator ----------------------------------------------


class PlanRun(NamedTuple):
    """What a plan run left: the orchestrator (closed; its store still reads), the outcome, and
    every event its bus published, in order."""

    orch: Orchestrator
    outcome: PlanOutcome
    events: list[Event]


async def run_to_end(orch: Orchestrator, timeout_s: float | None = None) -> PlanOutcome:
    """`orch`'s plan to its end (at most `timeout_s`), the orchestrator closed even when the
    run raises or times out."""
    try:
        return await asyncio.wait_for(orch.run_plan(), timeout_s)
    finally:
        await orch.close()


async def run_plan(
    config: Path | Config, *listeners: Callable[[Event], None], timeout_s: float | None = None
) -> PlanRun:
    """The plan of `config` (a file, or loaded) run to its end, its events recorded and also
    given to each of `listeners`."""
    orch = Orchestrator(config if isinstance(config, Config) else load_config(config))
    events: list[Event] = []
    for listener in (events.append, *listeners):
        orch.bus.add_listener(listener)
    outcome = await run_to_end(orch, timeout_s)
    return PlanRun(orch, outcome, events)
