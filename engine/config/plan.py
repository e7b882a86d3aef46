"""The `[[plan]]` tables of a config -> `engine.model.Plan`.

Stages keep their file order. A run stage runs its benchmark once on each of its nodes; a
sweep runs each sample count on each node, a node's counts one after another in the order
written; a group stage carries a GroupSpec and no runs, because the orchestrator sizes the
shards when the stage starts (it may measure the nodes first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.config.reader import (
    NAME_RULE,
    REQUIRED,
    Section,
    describe,
    quoted_list,
    suggestion,
    unknown_name,
    valid_name,
)
from engine.model import (
    Benchmark,
    FleetSpec,
    GroupSpec,
    Mode,
    NodeSpec,
    Plan,
    RunSpec,
    Scenario,
    ServiceSpec,
    Split,
    Stage,
)
from engine.run.templates import SERVICE_PLACEHOLDERS, placeholders

STAGE_KINDS = ("run", "sweep", "group", "fleet", "concurrency_sweep", "compliance", "qps_search")
_COMMON = ("kind", "name", "node", "nodes", "benchmark", "scenario", "mode")
_FLEET = (*_COMMON, "service", "samples", "target_qps", "max_retries")
KIND_KEYS: Mapping[str, tuple[str, ...]] = {
    "run": (*_COMMON, "samples"),
    "sweep": (*_COMMON, "samples"),
    "group": (*_COMMON, "total_samples", "split", "calibrate"),
    "fleet": (*_FLEET, "concurrency"),
    "concurrency_sweep": (*_FLEET, "concurrency"),
    "compliance": (*_COMMON, "samples", "test", "audit_config", "verify_command"),
    "qps_search": (
        *_COMMON,
        "samples",
        "confirm_samples",
        "low_qps",
        "high_qps",
        "tolerance",
        "backoff",
        "max_steps",
        "short_user_conf",
    ),
}
# Scenarios a fleet run can drive: LoadGen's throughput scenarios over streamed tokens.
FLEET_SCENARIOS = (Scenario.OFFLINE, Scenario.SERVER)
ALL_STAGE_KEYS = tuple(dict.fromkeys(k for keys in KIND_KEYS.values() for k in keys))


@dataclass(frozen=True)
class StageHead:
    """What every kind of [[plan]] stage reads first: its table, its place in the plan, its
    name and kind, nodes, benchmark, scenario and mode. Each kind's builder takes one and
    reads the rest of the table."""

    sec: Section
    number: int
    name: str
    kind: str
    nodes: tuple[str, ...]
    bench: Benchmark
    scenario: Scenario
    mode: Mode

    @property
    def spec_id(self) -> str:
        """The id of the stage's one spec (its group, fleet run or QPS search)."""
        return f"s{self.number}-{self.name}"

    def spec_fields(self) -> dict[str, Any]:
        """The fields a group's and a fleet run's spec take from the stage as they are."""
        return {"name": self.name, "nodes": self.nodes, "benchmark": self.bench.name,
                "scenario": self.scenario, "mode": self.mode}  # fmt: skip


def build_plan(
    top: Section,
    nodes: Mapping[str, NodeSpec],
    benchmarks: Mapping[str, Benchmark],
    services: Mapping[str, ServiceSpec] | None = None,
) -> tuple[Plan, dict[str, tuple[str, ...]]]:
    """The Plan, and for each benchmark the nodes the plan runs it on (in first-use order)."""
    if not top.has("plan"):
        return Plan(), {}
    value = top.data["plan"]
    if isinstance(value, dict):
        raise top.error(
            "plan", "is a single table", "an array of tables: write [[plan]] for each stage"
        )
    if not isinstance(value, list):
        raise top.error("plan", f"got {describe(value)}", "an array of [[plan]] tables")
    stages: list[Stage] = []
    seen: dict[str, int] = {}
    taken_ids: set[str] = set()
    usage: dict[str, dict[str, None]] = {}
    for number, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise top.source.error(("plan", number), f"got {describe(item)}", "a [[plan]] table")
        section = Section(top.source, item, ("plan", number))
        stage, bench, stage_nodes = _stage(
            section, number, nodes, benchmarks, taken_ids, services or {}
        )
        if stage.name in seen:
            raise section.error(
                "name" if section.has("name") else None,
                f'stage name "{stage.name}" is already used by plan[{seen[stage.name]}]',
                "a name no other stage has",
            )
        seen[stage.name] = number
        if stage.fleet is None:  # a fleet stage runs no harness command on its nodes
            usage.setdefault(bench, {}).update(dict.fromkeys(stage_nodes))
        stages.append(stage)
    return Plan(stages=tuple(stages)), {b: tuple(n) for b, n in usage.items()}


def _stage(
    sec: Section,
    number: int,
    nodes: Mapping[str, NodeSpec],
    benchmarks: Mapping[str, Benchmark],
    taken_ids: set[str],
    services: Mapping[str, ServiceSpec],
) -> tuple[Stage, str, tuple[str, ...]]:
    if not sec.has("kind"):
        sec.check_keys(ALL_STAGE_KEYS, "a [[plan]] stage")
    kind = sec.word("kind", STAGE_KINDS, REQUIRED)
    _check_stage_keys(sec, kind)
    name = sec.string("name", f"{kind}-{number}")
    if not valid_name(name):
        raise sec.error("name", f'stage name "{name}" is not safe', NAME_RULE)
    stage_nodes = _stage_nodes(sec, nodes)
    bench_name = sec.string("benchmark", REQUIRED, expected="the name of a [benchmarks.*] table")
    if bench_name not in benchmarks:
        raise sec.error(
            "benchmark", *unknown_name("benchmark", "benchmarks", bench_name, list(benchmarks))
        )
    bench = benchmarks[bench_name]
    scenario: Scenario = sec.choice("scenario", Scenario, bench.scenario)
    mode: Mode = sec.choice("mode", Mode, bench.mode)
    head = StageHead(sec, number, name, kind, stage_nodes, bench, scenario, mode)
    if kind in ("fleet", "concurrency_sweep"):
        fleet = _fleet(head, services, nodes)
        return Stage(name=name, kind=kind, fleet=fleet), bench_name, stage_nodes
    if not bench.command:
        raise sec.error(
            "benchmark",
            f"benchmark {bench.name} has no command, so a {kind} stage cannot launch it",
            f"a command in [benchmarks.{bench.name}] (only fleet stages need none)",
        )
    if kind == "group":
        group = _group(head)
        return Stage(name=name, kind=kind, group=group), bench_name, stage_nodes
    if kind == "qps_search":
        from engine.config.qps_search import qps_search

        search = qps_search(head)
        return Stage(name=name, kind=kind, search=search), bench_name, stage_nodes
    compliance = None
    if kind == "compliance":
        from engine.config.compliance import compliance_test

        compliance = compliance_test(sec, bench, mode, nodes, stage_nodes)
    if kind in ("run", "compliance"):
        counts = [_samples(sec, ("samples",), sec.data.get("samples", REQUIRED), bench)]
    else:
        counts = _sweep_counts(sec, bench)
    runs = []
    for node in stage_nodes:
        for samples in counts:
            run_id = _unique(f"s{number}-{node}-{samples}", taken_ids)
            runs.append(
                RunSpec(
                    run_id=run_id,
                    node=node,
                    benchmark=bench_name,
                    scenario=scenario,
                    mode=mode,
                    samples=samples,
                    stage=name,
                    label=f"{node}, {samples} samples"
                    + (f", {compliance.test}" if compliance else ""),
                    compliance=compliance,
                )
            )
    stage = Stage(name=name, kind=kind, runs=tuple(runs))
    return stage, bench_name, stage_nodes


def _check_stage_keys(sec: Section, kind: str) -> None:
    known = KIND_KEYS[kind]
    for key in sec.data:
        if key in ALL_STAGE_KEYS and key not in known:
            kinds = [k for k in STAGE_KINDS if key in KIND_KEYS[k]]
            owners = " and ".join(filter(None, [", ".join(kinds[:-1]), kinds[-1]]))
            raise sec.error(
                key,
                f'"{key}" is not a key of a {kind} stage (only of {owners} stages)'
                + suggestion(key, known),
                f"one of {quoted_list(known)}",
            )
    sec.check_keys(known, f"a {kind} stage")


def _stage_nodes(sec: Section, nodes: Mapping[str, NodeSpec]) -> tuple[str, ...]:
    expected = 'node = "<name>" or nodes = ["<name>", ...] naming [nodes.*] tables'
    if sec.has("node") and sec.has("nodes"):
        raise sec.error("node", "is given together with nodes", "one of node or nodes, not both")
    if sec.has("node"):
        key = "node"
        names = [sec.string("node", expected=expected)]
    elif sec.has("nodes"):
        key = "nodes"
        value = sec.data["nodes"]
        if not isinstance(value, list) or not value:
            shown = "an empty array" if value == [] else describe(value)
            raise sec.error("nodes", f"got {shown}", expected)
        for index, item in enumerate(value, start=1):
            if not isinstance(item, str) or not item:
                raise sec.source.error(
                    (*sec.at("nodes"), index), f"got {describe(item)}", "a node name"
                )
        names = list(value)
    else:
        raise sec.error("nodes", "is missing", expected)
    for name in names:
        if name not in nodes:
            raise sec.error(key, *unknown_name("node", "nodes", name, list(nodes)))
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise sec.error(key, f'lists node "{doubled[0]}" twice', "each node at most once")
    return tuple(names)


def _samples(sec: Section, key: tuple[str | int, ...], value: Any, bench: Benchmark) -> int:
    expected = f"an integer from 1 to {bench.dataset_size} (benchmark {bench.name}'s dataset_size)"
    path = (*sec.path, *key)
    if value is REQUIRED:
        raise sec.source.error(path, "is missing", expected)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise sec.source.error(path, f"got {describe(value)}", expected)
    if value > bench.dataset_size:
        raise sec.source.error(
            path,
            f"asks for {value} samples but benchmark {bench.name} has only {bench.dataset_size}",
            expected,
        )
    return value


def _sweep_counts(sec: Section, bench: Benchmark) -> list[int]:
    value = sec.data.get("samples", REQUIRED)
    expected = "a non-empty array of sample counts, e.g. [50, 100, 200]"
    if value is REQUIRED:
        raise sec.error("samples", "is missing", expected)
    if not isinstance(value, list) or not value:
        shown = "an empty array" if value == [] else describe(value)
        raise sec.error("samples", f"got {shown}", expected)
    return [_samples(sec, ("samples", i), v, bench) for i, v in enumerate(value, start=1)]


def _group(head: StageHead) -> GroupSpec:
    sec, bench, stage_nodes = head.sec, head.bench, head.nodes
    key = "nodes" if sec.has("nodes") else "node"
    if len(stage_nodes) < 2:
        raise sec.error(
            key,
            f"a group needs at least 2 nodes, got {len(stage_nodes)}",
            'nodes = ["a", "b", ...]',
        )
    if not bench.supports_shards and bench.shard_dataset is None:
        raise sec.error(
            "benchmark",
            f"benchmark {bench.name} has supports_shards = false, so it cannot run as a group",
            "a benchmark whose harness takes a shard ({shard_start}, {shard_count}), or "
            "shard_dataset naming the dataset file mlconsole slices per shard",
        )
    total = _samples(sec, ("total_samples",), sec.data.get("total_samples", REQUIRED), bench)
    if total < len(stage_nodes):
        raise sec.error(
            "total_samples",
            f"{total} samples cannot give each of {len(stage_nodes)} nodes a shard",
            f"at least {len(stage_nodes)} (one sample per node)",
        )
    return GroupSpec(
        **head.spec_fields(),
        group_id=head.spec_id,
        total_samples=total,
        split=sec.choice("split", Split, Split.AUTO),
        calibrate=sec.boolean("calibrate", False),
    )


def _fleet(
    head: StageHead, services: Mapping[str, ServiceSpec], nodes: Mapping[str, NodeSpec]
) -> FleetSpec:
    sec, bench, stage_nodes, scenario = head.sec, head.bench, head.nodes, head.scenario
    service_name = sec.string("service", REQUIRED, expected="the name of a [services.*] table")
    if service_name not in services:
        raise sec.error(
            "service", *unknown_name("service", "services", service_name, list(services))
        )
    service = services[service_name]
    if service.command is not None:
        for placeholder in sorted(placeholders(service.command)):
            lacking = [
                n
                for n in stage_nodes
                if placeholder not in SERVICE_PLACEHOLDERS and placeholder not in nodes[n].vars
            ]
            if lacking:
                raise sec.source.error(
                    ("services", service_name, "command"),
                    f"unknown placeholder {{{placeholder}}}: not built in and not in the vars of "
                    f"node {', '.join(lacking)} (plan[{head.number}] starts it there)",
                    "one of " + ", ".join(sorted(SERVICE_PLACEHOLDERS)) + " or a node var",
                )
    if scenario not in FLEET_SCENARIOS:
        raise sec.error(
            "scenario",
            f'a fleet run drives Offline or Server, got "{scenario}"',
            'scenario = "Offline" or "Server"',
        )
    if bench.dataset is None:
        raise sec.error(
            "benchmark",
            f"benchmark {bench.name} has no dataset, so the fleet's QSL has no prompts",
            f'dataset = "<file on the controller>" or "synthetic" in [benchmarks.{bench.name}]',
        )
    samples = _samples(sec, ("samples",), sec.data.get("samples", REQUIRED), bench)
    target = None
    if sec.has("target_qps"):
        target = sec.number("target_qps", None, low=0.0)
        if not target:
            raise sec.error("target_qps", "got 0", "a number of queries per second > 0")
    elif scenario == Scenario.SERVER:
        raise sec.error("target_qps", "is missing", "the Server scenario's queries per second")
    return FleetSpec(
        **head.spec_fields(),
        fleet_id=head.spec_id,
        service=service_name,
        samples=samples,
        target_qps=target,
        max_retries=sec.integer("max_retries", 2, low=0, high=20),
        concurrency=_concurrency(sec, head.kind),
        sweep=head.kind == "concurrency_sweep",
    )


def _concurrency(sec: Section, kind: str) -> tuple[int | None, ...]:
    if kind == "fleet":
        if not sec.has("concurrency"):
            return (None,)
        return (sec.integer("concurrency", None, low=1),)
    expected = "a non-empty array of concurrency limits (queries in flight), e.g. [1, 4, 16, 64]"
    if not sec.has("concurrency"):
        raise sec.error("concurrency", "is missing", expected)
    return sec.distinct_integers(
        "concurrency", low=1, expected=expected, twice="lists a limit twice"
    )


def _unique(base: str, taken: set[str]) -> str:
    """`base`, or `base-2`, `base-3` ... when a repeated sweep count already took it."""
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    taken.add(candidate)
    return candidate
