"""Recorded engine events for the console's pictures and tests.

The console's snapshot tests and docs/screenshots feed the app a fixed sequence of real engine
events, recorded from a real plan (the real LoadGen driving the bundled harness on two local
nodes) into tests/data/console/plan_events.json. This module holds the event <-> JSON codec,
the recording itself (`python -m tests.support.event_codec` regenerates it), and `feed`, which
publishes each recorded batch on an app's bus and flushes it through the real bridge.

One thing cannot exist on this machine: a GPU. Node "slow" therefore gets stand-in
TelemetrySampled events (an A30's utilization and memory), made here and labelled as such;
node "fast" keeps what the real telemetry said (no driver here).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import types
import typing
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from engine import events as ev_mod
from engine.events import Event, RunProgress, TelemetrySampled
from engine.model import GpuSample
from engine.results.group_schema import GroupSummary
from engine.results.schema import RunSummary
from tests.support.config_writer import write_config
from tests.support.paths import DATA
from tests.support.plans import sweep_then_group

RECORDING = DATA / "console" / "plan_events.json"
PLAN = sweep_then_group(100, 400, "weighted")
SPEEDS = {"slow": 100.0, "fast": 210.0}
TICK_S = 0.1


# --- events <-> JSON -------------------------------------------------------------------------


def encode(obj: Any) -> Any:
    if isinstance(obj, RunSummary | GroupSummary):
        return obj.to_json()  # the file's own form, read back by the schema's reader
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {f.name: encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        if isinstance(obj, Event):
            out = {"type": type(obj).__name__, **out}
        return out
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (list, tuple)):
        return [encode(x) for x in obj]
    if isinstance(obj, Mapping):
        return {k: encode(v) for k, v in obj.items()}
    return obj


def _decode(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        kinds = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(kinds[0], value) if len(kinds) == 1 else value
    if origin is tuple:
        (inner, *_) = typing.get_args(tp)
        return tuple(_decode(inner, v) for v in value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if tp is Path:
        return Path(value)
    if tp in (RunSummary, GroupSummary):
        return tp.from_json(value)  # any version the schema reads (the recording is v1)
    if dataclasses.is_dataclass(tp):
        return decode_dataclass(tp, value)
    return value


def decode_dataclass(cls: Any, data: Mapping[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs = {k: _decode(hints[k], v) for k, v in data.items() if k != "type"}
    return cls(**kwargs)


def decode_event(data: Mapping[str, Any]) -> Event:
    return decode_dataclass(getattr(ev_mod, data["type"]), data)


def load_recording() -> list[tuple[float, list[Event]]]:
    """(time, events) per recorded batch."""
    raw = json.loads(RECORDING.read_text())
    return [(t, [decode_event(e) for e in batch]) for t, batch in raw["batches"]]


# --- stand-in GPU telemetry (no GPU on this machine) ------------------------------------------


def stand_in_telemetry(t: float, node: str = "slow") -> TelemetrySampled:
    """What an A30 might report at recorded time t: a stand-in, because no GPU exists here."""
    util = 35.0 + 60.0 * ((int(t * 10) * 7) % 10) / 10
    return TelemetrySampled(
        node,
        (
            GpuSample(
                ts=1_800_000_000.0 + t,
                node=node,
                gpu=0,
                utilization_pct=util,
                memory_used_mib=14_000.0 + 100 * (int(t * 10) % 5),
                memory_total_mib=24_576.0,
                name="NVIDIA A30",
            ),
        ),
        "ok",
    )


# --- feeding the app --------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_app(tmp_path: Path, clock: Clock) -> Any:
    from console.tui.app import ConsoleApp
    from engine.config.load import load_config

    config = load_config(write_config(tmp_path, speeds=SPEEDS, plan=PLAN))
    # A fixed name in the notice bar instead of the tmp path.
    config = dataclasses.replace(config, source="configs/snapshot.toml")
    return ConsoleApp(
        config,
        config_note="configs/snapshot.toml (recorded events)",
        clock=clock,
        chart_interval_s=3600,
    )


async def feed(app: Any, clock: Clock, pilot: Any, *, select: str | None = None) -> None:
    """Publish each recorded batch on the app's bus and flush it through the bridge."""
    for t, batch in load_recording():
        clock.now = t
        for event in batch:
            app.orchestrator.bus.publish(event)
        if int(t / TICK_S) % 5 == 0:
            app.orchestrator.bus.publish(stand_in_telemetry(t))
        app.bridge.flush()
        await pilot.pause()
    if select is not None:
        table = app.main.runs_table
        table.move_cursor(row=table._keys.index(select), animate=False)
    await pilot.pause()
    app.sync_views()
    await pilot.pause()


@contextlib.asynccontextmanager
async def fed_app(tmp_path: Path, size: tuple[int, int]) -> AsyncIterator[tuple[Any, Any]]:
    """A console app in a pilot of `size` (columns, rows) that has been fed the whole
    recording: (app, pilot), for the tests that look at the picture the events leave."""
    clock = Clock()
    app = make_app(tmp_path, clock)
    async with app.run_test(size=size) as pilot:
        await feed(app, clock, pilot)
        yield app, pilot


SELECTED = "s2-pair-slow"


# --- recording (python -m tests.support.event_codec) -------------------------------------------


def _normalize(data: Any, root: str) -> Any:
    if isinstance(data, str):
        return data.replace(root + "/", "").replace(root, ".")
    if isinstance(data, list):
        return [_normalize(x, root) for x in data]
    if isinstance(data, dict):
        return {k: _normalize(v, root) for k, v in data.items()}
    return data


async def record(workdir: Path) -> dict[str, Any]:
    """Run the plan for real and keep the events up to the group's shard SELECTED at about
    half its samples, in TICK_S batches."""
    import time

    from engine.config.load import load_config
    from engine.run.orchestrator import Orchestrator

    orch = Orchestrator(load_config(write_config(workdir, speeds=SPEEDS, plan=PLAN)))
    t0 = time.monotonic()
    seen: list[tuple[float, Event]] = []
    done = False

    def keep(e: Event) -> None:
        nonlocal done
        if done or isinstance(e, ev_mod.Notice):  # notices would pop toasts in the picture
            return
        seen.append((time.monotonic() - t0, e))
        if (
            isinstance(e, RunProgress)
            and e.run_id == SELECTED
            and e.total
            and e.completed >= e.total // 2
        ):
            done = True

    orch.bus.add_listener(keep)
    await orch.run_plan()
    await orch.close()
    batches: dict[int, list[Any]] = {}
    for t, e in seen:
        batches.setdefault(int(t / TICK_S), []).append(encode(e))
    out = [[round(k * TICK_S, 1), v] for k, v in sorted(batches.items())]
    return {"plan": PLAN, "speeds": SPEEDS, "batches": _normalize(out, str(workdir))}


if __name__ == "__main__":
    import asyncio
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        data = asyncio.run(record(Path(d)))
    RECORDING.parent.mkdir(parents=True, exist_ok=True)
    RECORDING.write_text(json.dumps(data, indent=None, separators=(",", ":")) + "\n")
    print(f"wrote {RECORDING}: {len(data['batches'])} batches")
