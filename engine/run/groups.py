"""Parallel groups: how a group's samples are split between its nodes, the calibration runs
that measure nodes first, and the group's own run from sizing to group_summary.json.

Shards are sized when the group's stage starts, from each node's most recent single run of
the same benchmark, scenario and mode (so a sweep earlier in the plan feeds the split); a
node with no such run is measured by a short calibration run when the group asks for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine import figures
from engine.events import EventBus, GroupFinished, GroupStarted, Notice, RunQueued
from engine.model import Config, GroupSpec, RunSpec, Split
from engine.results.plan_journal import GroupRecord, group_finished_line
from engine.results.schema import RunSummary
from engine.results.store import RecordedRun, ResultsStore, write_group_summary

# node -> (wall throughput in samples/s, the run dir it was measured in); (None, None): none
Measured = dict[str, tuple[float | None, str | None]]

CALIBRATION_LABEL = "calibration"
MAX_CALIBRATION_SAMPLES = 500


def measured_throughputs(
    runs: Iterable[RecordedRun], benchmark: str, scenario: str, mode: str, nodes: Sequence[str]
) -> Measured:
    """Each node's most recent single-run (not a group shard) wall throughput for this
    benchmark/scenario/mode, with the run dir it comes from."""
    found: Measured = {n: (None, None) for n in nodes}
    for rec in sorted(runs, key=lambda r: r.summary.wall.end_unix or 0):
        s = rec.summary
        if (
            s.node in found
            and s.group_id is None
            and (s.benchmark, s.scenario, s.mode) == (benchmark, scenario, mode)
            and s.ok
            and s.wall_throughput is not None
        ):
            found[s.node] = (s.wall_throughput, rec.run_dir.name)
    return found


def group_measurements(store: ResultsStore, group: GroupSpec) -> Measured:
    return measured_throughputs(
        store.runs(), group.benchmark, str(group.scenario), str(group.mode), group.nodes
    )


@dataclass(frozen=True)
class ShardPlan:
    """A group's shards, the split used and where its weights came from (a sentence)."""

    shards: tuple[RunSpec, ...]
    split: str
    source: str


def plan_shards(group: GroupSpec, measured: Measured) -> ShardPlan:
    """Shard specs sized by the split: weighted by the measured wall throughputs when every
    node has one (auto chooses weighted then), else equal, saying why."""
    have_all = all(measured[n][0] is not None for n in group.nodes)
    split = group.split
    if split == Split.AUTO:
        split = Split.WEIGHTED if have_all else Split.EQUAL
    if split == Split.WEIGHTED and have_all:
        weights = {n: measured[n][0] for n in group.nodes}
        source = "measured wall throughput: " + ", ".join(
            f"{n} {measured[n][0]:.3g} samples/s ({measured[n][1]})" for n in group.nodes
        )
    else:
        if split == Split.WEIGHTED:
            source = (
                "equal (weighted requested, but no measurement for "
                + ", ".join(n for n in group.nodes if measured[n][0] is None)
                + ")"
            )
            split = Split.EQUAL
        else:
            source = "equal split"
        weights = {n: None for n in group.nodes}
    sizes = figures.shard_sizes(group.total_samples, weights)
    starts = figures.shard_starts(sizes)
    shards = tuple(
        _run_of(
            group, f"{group.group_id}-{n}", n, sizes[n], group.name,
            f"{group.name} shard {i + 1}/{len(group.nodes)}",
            shard_start=starts[n], group_id=group.group_id,
        )  # fmt: skip
        for i, n in enumerate(group.nodes)
        if sizes[n] > 0
    )
    return ShardPlan(shards, str(split), source)


def calibration_specs(group: GroupSpec, measured: Measured) -> list[RunSpec]:
    """A short single run for each node of the group that has no measurement: a tenth of an
    equal shard, at least 1 and at most MAX_CALIBRATION_SAMPLES samples."""
    missing = [n for n in group.nodes if measured[n][0] is None]
    share = group.total_samples // (10 * len(group.nodes)) or 1
    samples = max(1, min(share, MAX_CALIBRATION_SAMPLES))
    return [
        _run_of(
            group, f"{group.group_id}-calibrate-{n}", n, samples, f"{group.name}-calibration",
            CALIBRATION_LABEL,
        )  # fmt: skip
        for n in missing
    ]


def _run_of(
    group: GroupSpec, run_id: str, node: str, samples: int, stage: str, label: str, **more: Any
) -> RunSpec:
    """A run of `group`'s benchmark, scenario and mode on `node` (a shard, or a calibration
    run)."""
    return RunSpec(
        run_id=run_id, node=node, benchmark=group.benchmark, scenario=group.scenario,
        mode=group.mode, samples=samples, stage=stage, label=label, **more,
    )  # fmt: skip


Execute = Callable[[RunSpec], Awaitable[RunSummary]]


async def run_group(
    group: GroupSpec,
    *,
    config: Config,
    store: ResultsStore,
    bus: EventBus,
    execute: Execute,
    resolve_settings: Callable[[Sequence[RunSpec]], Awaitable[object]],
    plan_id: str = "",
    recorded: GroupRecord | None = None,
    done: Mapping[str, RunSummary] | None = None,
) -> list[RunSummary]:
    """Calibrate (when asked and needed), size the shards, run them all at once through
    `execute`, write group_summary.json and publish GroupFinished; returns the shards'
    summaries.

    The journal gets a `group_started` line once the shards are sized and the group dir is
    made, and `group_finished` once its summary is written. `recorded` is such a line of an
    earlier console: the group is finished as it was sized there, its shards' summaries
    taken from `done` (re-attached or finished before) and only the others run now."""
    if recorded is None:
        record = await _size_group(group, store, bus, execute, resolve_settings)
        store.journal(record.to_json(plan_id))
        done = {}
    else:
        record, done = recorded, dict(done or {})
        await resolve_settings([s for s in record.shards if s.run_id not in done])
    group_dir = store.root / record.group_dir
    group_dir.mkdir(parents=True, exist_ok=True)
    bus.publish(
        GroupStarted(group.group_id, group.name, record.shards, record.split, record.split_source)
    )

    async def shard(spec: RunSpec) -> RunSummary:
        return done[spec.run_id] if spec.run_id in done else await execute(spec)

    summaries = list(await asyncio.gather(*(shard(s) for s in record.shards)))
    from engine.results.summary import build_group_summary

    summary = build_group_summary(
        group_id=group.group_id,
        name=group.name,
        group_dir_name=group_dir.name,
        benchmark=config.benchmarks[group.benchmark],
        scenario=str(group.scenario),
        mode=str(group.mode),
        nodes=group.nodes,
        split=record.split,
        split_source=record.split_source,
        simulated=config.simulated,
        total_samples=group.total_samples,
        shards=summaries,
        singles=group_measurements(store, group),
    )
    write_group_summary(group_dir, summary)
    store.journal(group_finished_line(plan_id, group.group_id, group_dir.name))
    bus.publish(GroupFinished(group.group_id, group.name, str(group_dir), summary))
    return summaries


async def _size_group(
    group: GroupSpec,
    store: ResultsStore,
    bus: EventBus,
    execute: Execute,
    resolve_settings: Callable[[Sequence[RunSpec]], Awaitable[object]],
) -> GroupRecord:
    """Calibration runs (when asked and needed), then the shards sized and the group dir."""
    if group.calibrate:
        specs = calibration_specs(group, group_measurements(store, group))
        if specs:
            for spec in specs:
                bus.publish(RunQueued(spec))
            nodes = ", ".join(s.node for s in specs)
            bus.publish(
                Notice(
                    f"calibrating {nodes} with {specs[0].samples} samples each "
                    f"before sizing group {group.name}"
                )
            )
            await asyncio.gather(*(execute(s) for s in specs))
    plan = plan_shards(group, group_measurements(store, group))
    for spec in plan.shards:
        bus.publish(RunQueued(spec))
    await resolve_settings(plan.shards)
    group_dir = store.new_group_dir(group.name)
    return GroupRecord(group.group_id, group.name, group_dir.name, plan.split, plan.source,
                       plan.shards)  # fmt: skip
