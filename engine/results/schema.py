"""The results files' schema: `orchestrator_summary.json` (one run) and `group_summary.json`
(one parallel group) as typed frozen dataclasses, with the one writer (`to_json`) and the one
reader (`read_run_summary`, `read_group_summary`) that everything else uses.

Versions (`schema_version` in each file):

- 1, written by mlconsole 0.1.0: run states were stored as the words the console showed
  ("complete, harness exited non-zero", "fetch failed (files left on node)").
- 2: run states are stored as `RunState`'s stable identifiers ("harness_error_after_complete",
  "fetch_failed"); the words people read live in the console (`console.format`).

Every version listed is read; a newer one is refused with a sentence (`SummaryUnreadable`),
because guessing at fields a later mlconsole added could misreport a run. A field a file lacks,
or holds with the wrong type, reads as None (missing), never as a made-up value: reports show
it as missing with the reason.

The run summary's layout::

    schema, schema_version, mlconsole_version, run_id, run_dir (dir name),
    kind ("run", or "fleet": one LoadGen on the controller over many nodes' endpoints),
    node, group_id, stage, label, benchmark, scenario, mode, dataset_size, simulated,
    samples_requested, shard_start, samples_processed (from LoadGen's logs; null if unknown),
    wall: {start, end (ISO 8601 UTC), start_unix, end_unix, duration_s},
    loadgen: {complete, validity, validity_reasons[], metric: {name, value, unit, key} | null,
              token_metric: {...} | null, generated_total, errors, warnings,
              incomplete_reasons[], problems[]},
    wall_throughput: {value, unit: "samples/s"} | null,
    exit: {state (a RunState identifier), code, detail},
    host: {os, python, loadgen_version, gpu_state, driver, gpus: [{index, name,
           memory_total_mib, uuid}]},
    telemetry: {state, detail, samples, gpus: [{node, gpu, name, samples, util_samples,
                util_mean, util_p95, util_max, mem_peak_mib, mem_total_mib, first_ts, last_ts}]},
    files: [names in the run dir when the summary was written],
    fleet: {...} (fleet runs only; its fields are engine.results.summary.build_fleet_block's)
    submission: {eligibility: {round, benchmark, scenario, mode, eligible, development_run,
                 broken: [{rule, text, source, value, limit}], checked[], margins[]},
                 checker_headline: {round, benchmark, scenario, key, value, unit, missing}}
                (absent in summaries written before it existed)

The group summary's layout::

    schema, schema_version, mlconsole_version, group_id, name, group_dir, label, benchmark,
    scenario,
    mode, dataset_size, nodes[], split, split_source, simulated,
    shards: [{node, run_id, run_dir, shard_start, samples_requested, samples_processed,
              duration_s, start_unix, end_unix, state, validity, metric: {...} | null,
              wall_throughput}],
    total_samples_requested, samples_processed, start_unix, end_unix, makespan_s,
    combined_throughput, sum_loadgen_metric: {value, unit} | null, sequential_s, speedup,
    single_run_throughputs: {node: value | null}, single_run_sources: {node: run_dir | null},
    scaling_efficiency

RunSpec's own JSON form (the journal's `spec`, so a restarted console can re-attach) is here
too: `spec_to_json` and `spec_from_json`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import MlconsoleError
from engine.model import Mode, RunSpec, RunState, Scenario
from engine.submission.eligibility import Eligibility
from engine.submission.headline import CheckerHeadline

RUN_SUMMARY_SCHEMA_ID = "mlconsole.run_summary"
GROUP_SUMMARY_SCHEMA_ID = "mlconsole.group_summary"
SCHEMA_VERSION = 2
READABLE_VERSIONS = frozenset({1, 2})
RUN_SUMMARY_FILE = "orchestrator_summary.json"
GROUP_SUMMARY_FILE = "group_summary.json"

# What 0.1.0 (schema 1) wrote for the states whose identifier differs from those words.
V1_STATE_WORDS: Mapping[str, RunState] = {
    "link lost, retrying": RunState.LINK_LOST,
    "complete, harness exited non-zero": RunState.HARNESS_ERROR_AFTER_COMPLETE,
    "fetch failed (files left on node)": RunState.FETCH_FAILED,
}


class SummaryUnreadable(MlconsoleError):
    """A summary file that cannot be read: not JSON, not ours, or a version this mlconsole
    does not know. `str(err)` names the file and what was expected."""


# --- reading helpers: the wrong type reads as missing ------------------------------------------


def _d(x: Any) -> Mapping[str, Any]:
    return x if isinstance(x, Mapping) else {}


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return float(x)


def _int(x: Any) -> int | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return int(x)


def _str(x: Any) -> str | None:
    return None if x is None else str(x)


def _bool(x: Any) -> bool | None:
    return x if isinstance(x, bool) else None


def _strs(x: Any) -> tuple[str, ...]:
    if isinstance(x, str) or not isinstance(x, Sequence):
        return ()
    return tuple(str(v) for v in x)


def run_state(value: Any, version: int = SCHEMA_VERSION) -> RunState | None:
    """The RunState a file's state field names; None when it names none we know."""
    if not isinstance(value, str):
        return None
    if version < 2 and value in V1_STATE_WORDS:
        return V1_STATE_WORDS[value]
    try:
        return RunState(value)
    except ValueError:
        return None


# --- the parts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """A LoadGen figure as its summary names it (`key` is the summary's field name)."""

    name: str | None
    value: float | None
    unit: str | None
    key: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "unit": self.unit, "key": self.key}

    @classmethod
    def from_json(cls, data: Any) -> Metric | None:
        if not isinstance(data, Mapping):
            return None
        return cls(
            _str(data.get("name")),
            _num(data.get("value")),
            _str(data.get("unit")),
            _str(data.get("key")),
        )


@dataclass(frozen=True)
class WallClock:
    """Launch to exit on the node's clock; `start`/`end` are the same instants in ISO 8601."""

    start: str | None = None
    end: str | None = None
    start_unix: float | None = None
    end_unix: float | None = None
    duration_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "start_unix": self.start_unix,
            "end_unix": self.end_unix,
            "duration_s": self.duration_s,
        }

    @classmethod
    def from_json(cls, data: Any) -> WallClock:
        d = _d(data)
        return cls(
            _str(d.get("start")),
            _str(d.get("end")),
            _num(d.get("start_unix")),
            _num(d.get("end_unix")),
            _num(d.get("duration_s")),
        )


@dataclass(frozen=True)
class LoadgenRecord:
    """What LoadGen's logs said: `complete` is None when the file does not say."""

    complete: bool | None = False
    validity: str | None = None
    validity_reasons: tuple[str, ...] = ()
    metric: Metric | None = None
    token_metric: Metric | None = None
    generated_total: int | None = None
    errors: int | None = None
    warnings: int | None = None
    incomplete_reasons: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "validity": self.validity,
            "validity_reasons": list(self.validity_reasons),
            "metric": self.metric.to_json() if self.metric else None,
            "token_metric": self.token_metric.to_json() if self.token_metric else None,
            "generated_total": self.generated_total,
            "errors": self.errors,
            "warnings": self.warnings,
            "incomplete_reasons": list(self.incomplete_reasons),
            "problems": list(self.problems),
        }

    @classmethod
    def from_json(cls, data: Any) -> LoadgenRecord:
        d = _d(data)
        return cls(
            complete=_bool(d.get("complete")),
            validity=_str(d.get("validity")),
            validity_reasons=_strs(d.get("validity_reasons")),
            metric=Metric.from_json(d.get("metric")),
            token_metric=Metric.from_json(d.get("token_metric")),
            generated_total=_int(d.get("generated_total")),
            errors=_int(d.get("errors")),
            warnings=_int(d.get("warnings")),
            incomplete_reasons=_strs(d.get("incomplete_reasons")),
            problems=_strs(d.get("problems")),
        )


@dataclass(frozen=True)
class ExitRecord:
    """How the run ended: `state` is None when the file names no state this version knows."""

    state: RunState | None
    code: int | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state.value if self.state else None,
            "code": self.code,
            "detail": self.detail,
        }

    @classmethod
    def from_json(cls, data: Any, version: int) -> ExitRecord:
        d = _d(data)
        return cls(
            run_state(d.get("state"), version), _int(d.get("code")), _str(d.get("detail")) or ""
        )


@dataclass(frozen=True)
class HostGpu:
    index: int | None
    name: str | None
    memory_total_mib: float | None = None
    uuid: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "memory_total_mib": self.memory_total_mib,
            "uuid": self.uuid,
        }

    @classmethod
    def from_json(cls, data: Any) -> HostGpu:
        d = _d(data)
        return cls(
            _int(d.get("index")),
            _str(d.get("name")),
            _num(d.get("memory_total_mib")),
            _str(d.get("uuid")),
        )


@dataclass(frozen=True)
class HostRecord:
    """What the preflight probe learned about the node (None: not probed)."""

    os: str | None = None
    python: str | None = None
    loadgen_version: str | None = None
    gpu_state: str | None = "unknown"
    driver: str | None = None
    gpus: tuple[HostGpu, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "os": self.os,
            "python": self.python,
            "loadgen_version": self.loadgen_version,
            "gpu_state": self.gpu_state,
            "driver": self.driver,
            "gpus": [g.to_json() for g in self.gpus],
        }

    @classmethod
    def from_json(cls, data: Any) -> HostRecord:
        d = _d(data)
        gpus = d.get("gpus") if isinstance(d.get("gpus"), list) else []
        return cls(
            os=_str(d.get("os")),
            python=_str(d.get("python")),
            loadgen_version=_str(d.get("loadgen_version")),
            gpu_state=_str(d.get("gpu_state")),
            driver=_str(d.get("driver")),
            gpus=tuple(HostGpu.from_json(g) for g in gpus if isinstance(g, Mapping)),
        )


@dataclass(frozen=True)
class GpuUsage:
    """One GPU over one run (`engine.telemetry.stats.TelemetryStats` as recorded)."""

    gpu: int | None
    name: str | None = None
    samples: int | None = None
    util_mean: float | None = None
    util_p95: float | None = None
    util_max: float | None = None
    mem_peak_mib: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # the other recorded fields, kept

    def to_json(self) -> dict[str, Any]:
        return {
            **self.extra,
            "gpu": self.gpu,
            "name": self.name,
            "samples": self.samples,
            "util_mean": self.util_mean,
            "util_p95": self.util_p95,
            "util_max": self.util_max,
            "mem_peak_mib": self.mem_peak_mib,
        }

    @classmethod
    def from_json(cls, data: Any) -> GpuUsage:
        d = _d(data)
        known = ("gpu", "name", "samples", "util_mean", "util_p95", "util_max", "mem_peak_mib")
        return cls(
            gpu=_int(d.get("gpu")),
            name=_str(d.get("name")),
            samples=_int(d.get("samples")),
            util_mean=_num(d.get("util_mean")),
            util_p95=_num(d.get("util_p95")),
            util_max=_num(d.get("util_max")),
            mem_peak_mib=_num(d.get("mem_peak_mib")),
            extra={k: v for k, v in d.items() if k not in known},
        )


@dataclass(frozen=True)
class TelemetryRecord:
    """GPU telemetry over the run: `state` says why there is none when `gpus` is empty."""

    state: str | None = "not recorded"
    detail: str | None = None
    samples: int | None = None
    gpus: tuple[GpuUsage, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state}
        if self.detail is not None:
            out["detail"] = self.detail
        if self.samples is not None:
            out["samples"] = self.samples
        return out | {"gpus": [g.to_json() for g in self.gpus]}

    @classmethod
    def from_json(cls, data: Any) -> TelemetryRecord:
        d = _d(data)
        gpus = d.get("gpus") if isinstance(d.get("gpus"), list) else []
        return cls(
            state=_str(d.get("state")),
            detail=_str(d.get("detail")),
            samples=_int(d.get("samples")),
            gpus=tuple(GpuUsage.from_json(g) for g in gpus if isinstance(g, Mapping)),
        )


# --- the run summary ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSummary:
    """orchestrator_summary.json: one run, as the orchestrator recorded it.

    `wall_throughput` is samples processed / wall seconds (samples/s), the planning figure;
    LoadGen's own figure is `loadgen.metric`."""

    run_id: str | None
    run_dir: str | None
    node: str | None
    benchmark: str | None
    scenario: str | None
    mode: str | None
    exit: ExitRecord
    samples_requested: int | None = None
    shard_start: int | None = 0
    group_id: str | None = None
    stage: str | None = ""
    label: str | None = ""
    dataset_size: int | None = None
    simulated: bool = False
    samples_processed: int | None = None
    wall: WallClock = WallClock()
    loadgen: LoadgenRecord = LoadgenRecord()
    wall_throughput: float | None = None
    host: HostRecord = HostRecord()
    telemetry: TelemetryRecord = TelemetryRecord()
    files: tuple[str, ...] = ()
    mlconsole_version: str | None = None
    schema_version: int = SCHEMA_VERSION
    kind: str = "run"  # "fleet": one LoadGen over the endpoints of several nodes
    # A fleet run's block (endpoints, shares, retries), as build_fleet_block wrote it.
    fleet: Mapping[str, Any] | None = None
    # What the submission checker would say (engine.submission): None when not assessed.
    eligibility: Eligibility | None = None
    checker_headline: CheckerHeadline | None = None

    @property
    def state(self) -> RunState | None:
        return self.exit.state

    @property
    def ok(self) -> bool:
        """LoadGen's results are usable (`RunState.ok`)."""
        return self.exit.state is not None and self.exit.state.ok

    def to_json(self) -> dict[str, Any]:
        """The file's content, always in the current schema version."""
        out = {
            "schema": RUN_SUMMARY_SCHEMA_ID,
            "schema_version": SCHEMA_VERSION,
            "mlconsole_version": self.mlconsole_version,
            "run_id": self.run_id,
            "run_dir": self.run_dir,
            "kind": self.kind,
            "node": self.node,
            "group_id": self.group_id,
            "stage": self.stage,
            "label": self.label,
            "benchmark": self.benchmark,
            "scenario": self.scenario,
            "mode": self.mode,
            "dataset_size": self.dataset_size,
            "simulated": self.simulated,
            "samples_requested": self.samples_requested,
            "shard_start": self.shard_start,
            "samples_processed": self.samples_processed,
            "wall": self.wall.to_json(),
            "loadgen": self.loadgen.to_json(),
            "wall_throughput": None
            if self.wall_throughput is None
            else {"value": self.wall_throughput, "unit": "samples/s"},
            "exit": self.exit.to_json(),
            "host": self.host.to_json(),
            "telemetry": self.telemetry.to_json(),
            "files": list(self.files),
        }
        if self.fleet is not None:
            out["fleet"] = dict(self.fleet)
        if self.eligibility is not None or self.checker_headline is not None:
            out["submission"] = {
                "eligibility": self.eligibility.to_json() if self.eligibility else None,
                "checker_headline": self.checker_headline.to_json()
                if self.checker_headline
                else None,
            }
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, source: str = "run summary") -> RunSummary:
        """Any readable version; raises SummaryUnreadable (naming `source`) otherwise."""
        version = _version(data, RUN_SUMMARY_SCHEMA_ID, source)
        return cls(
            run_id=_str(data.get("run_id")),
            run_dir=_str(data.get("run_dir")),
            node=_str(data.get("node")),
            benchmark=_str(data.get("benchmark")),
            scenario=_str(data.get("scenario")),
            mode=_str(data.get("mode")),
            exit=ExitRecord.from_json(data.get("exit"), version),
            samples_requested=_int(data.get("samples_requested")),
            shard_start=_int(data.get("shard_start")),
            group_id=_str(data.get("group_id")),
            stage=_str(data.get("stage")),
            label=_str(data.get("label")),
            dataset_size=_int(data.get("dataset_size")),
            simulated=bool(data.get("simulated")),
            samples_processed=_int(data.get("samples_processed")),
            wall=WallClock.from_json(data.get("wall")),
            loadgen=LoadgenRecord.from_json(data.get("loadgen")),
            wall_throughput=_num(_d(data.get("wall_throughput")).get("value")),
            host=HostRecord.from_json(data.get("host")),
            telemetry=TelemetryRecord.from_json(data.get("telemetry")),
            files=_strs(data.get("files")),
            mlconsole_version=_str(data.get("mlconsole_version")),
            schema_version=version,
            kind=_str(data.get("kind")) or "run",
            fleet=data.get("fleet") if isinstance(data.get("fleet"), Mapping) else None,
            eligibility=Eligibility.from_json(_d(data.get("submission")).get("eligibility")),
            checker_headline=CheckerHeadline.from_json(
                _d(data.get("submission")).get("checker_headline")
            ),
        )


# --- the group summary -------------------------------------------------------------------------


@dataclass(frozen=True)
class ShardRecord:
    """One shard of a group, copied from its run summary when the group ended."""

    node: str | None
    run_id: str | None
    run_dir: str | None
    state: RunState | None
    shard_start: int | None = None
    samples_requested: int | None = None
    samples_processed: int | None = None
    duration_s: float | None = None
    start_unix: float | None = None
    end_unix: float | None = None
    validity: str | None = None
    metric: Metric | None = None
    wall_throughput: float | None = None

    @classmethod
    def of(cls, run: RunSummary) -> ShardRecord:
        return cls(
            node=run.node,
            run_id=run.run_id,
            run_dir=run.run_dir,
            state=run.state,
            shard_start=run.shard_start,
            samples_requested=run.samples_requested,
            samples_processed=run.samples_processed,
            duration_s=run.wall.duration_s,
            start_unix=run.wall.start_unix,
            end_unix=run.wall.end_unix,
            validity=run.loadgen.validity,
            metric=run.loadgen.metric,
            wall_throughput=run.wall_throughput,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "run_id": self.run_id,
            "run_dir": self.run_dir,
            "shard_start": self.shard_start,
            "samples_requested": self.samples_requested,
            "samples_processed": self.samples_processed,
            "duration_s": self.duration_s,
            "start_unix": self.start_unix,
            "end_unix": self.end_unix,
            "state": self.state.value if self.state else None,
            "validity": self.validity,
            "metric": self.metric.to_json() if self.metric else None,
            "wall_throughput": self.wall_throughput,
        }

    @classmethod
    def from_json(cls, data: Any, version: int) -> ShardRecord:
        d = _d(data)
        return cls(
            node=_str(d.get("node")),
            run_id=_str(d.get("run_id")),
            run_dir=_str(d.get("run_dir")),
            state=run_state(d.get("state"), version),
            shard_start=_int(d.get("shard_start")),
            samples_requested=_int(d.get("samples_requested")),
            samples_processed=_int(d.get("samples_processed")),
            duration_s=_num(d.get("duration_s")),
            start_unix=_num(d.get("start_unix")),
            end_unix=_num(d.get("end_unix")),
            validity=_str(d.get("validity")),
            metric=Metric.from_json(d.get("metric")),
            wall_throughput=_num(d.get("wall_throughput")),
        )


@dataclass(frozen=True)
class GroupSummary:
    """group_summary.json: a parallel group's figures over its shards (each shard is also an
    ordinary run dir with its own RunSummary)."""

    group_id: str | None
    name: str | None
    group_dir: str | None
    label: str | None = None  # what its figures are (engine.results.summary.group_label)
    benchmark: str | None = None
    scenario: str | None = None
    mode: str | None = None
    dataset_size: int | None = None
    nodes: tuple[str, ...] = ()
    split: str | None = None
    split_source: str | None = None
    simulated: bool = False
    shards: tuple[ShardRecord, ...] = ()
    total_samples_requested: int | None = None
    samples_processed: int | None = None
    start_unix: float | None = None
    end_unix: float | None = None
    makespan_s: float | None = None
    combined_throughput: float | None = None
    sum_loadgen_metric: Metric | None = None  # name and key are None: a sum has neither
    sequential_s: float | None = None
    speedup: float | None = None
    single_run_throughputs: Mapping[str, float | None] = field(default_factory=dict)
    single_run_sources: Mapping[str, str | None] = field(default_factory=dict)
    scaling_efficiency: float | None = None
    mlconsole_version: str | None = None
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        m = self.sum_loadgen_metric
        return {
            "schema": GROUP_SUMMARY_SCHEMA_ID,
            "schema_version": SCHEMA_VERSION,
            "mlconsole_version": self.mlconsole_version,
            "group_id": self.group_id,
            "name": self.name,
            "group_dir": self.group_dir,
            "label": self.label,
            "benchmark": self.benchmark,
            "scenario": self.scenario,
            "mode": self.mode,
            "dataset_size": self.dataset_size,
            "nodes": list(self.nodes),
            "split": self.split,
            "split_source": self.split_source,
            "simulated": self.simulated,
            "shards": [s.to_json() for s in self.shards],
            "total_samples_requested": self.total_samples_requested,
            "samples_processed": self.samples_processed,
            "start_unix": self.start_unix,
            "end_unix": self.end_unix,
            "makespan_s": self.makespan_s,
            "combined_throughput": self.combined_throughput,
            "sum_loadgen_metric": None if m is None else {"value": m.value, "unit": m.unit},
            "sequential_s": self.sequential_s,
            "speedup": self.speedup,
            "single_run_throughputs": dict(self.single_run_throughputs),
            "single_run_sources": dict(self.single_run_sources),
            "scaling_efficiency": self.scaling_efficiency,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, source: str = "group summary") -> GroupSummary:
        version = _version(data, GROUP_SUMMARY_SCHEMA_ID, source)
        shards = data.get("shards") if isinstance(data.get("shards"), list) else []
        m = data.get("sum_loadgen_metric")
        return cls(
            group_id=_str(data.get("group_id")),
            name=_str(data.get("name")),
            group_dir=_str(data.get("group_dir")),
            label=_str(data.get("label")),
            benchmark=_str(data.get("benchmark")),
            scenario=_str(data.get("scenario")),
            mode=_str(data.get("mode")),
            dataset_size=_int(data.get("dataset_size")),
            nodes=_strs(data.get("nodes")),
            split=_str(data.get("split")),
            split_source=_str(data.get("split_source")),
            simulated=bool(data.get("simulated")),
            shards=tuple(ShardRecord.from_json(s, version) for s in shards),
            total_samples_requested=_int(data.get("total_samples_requested")),
            samples_processed=_int(data.get("samples_processed")),
            start_unix=_num(data.get("start_unix")),
            end_unix=_num(data.get("end_unix")),
            makespan_s=_num(data.get("makespan_s")),
            combined_throughput=_num(data.get("combined_throughput")),
            sum_loadgen_metric=None
            if not isinstance(m, Mapping)
            else Metric(None, _num(m.get("value")), _str(m.get("unit"))),
            sequential_s=_num(data.get("sequential_s")),
            speedup=_num(data.get("speedup")),
            single_run_throughputs={
                str(k): _num(v) for k, v in _d(data.get("single_run_throughputs")).items()
            },
            single_run_sources={
                str(k): _str(v) for k, v in _d(data.get("single_run_sources")).items()
            },
            scaling_efficiency=_num(data.get("scaling_efficiency")),
            mlconsole_version=_str(data.get("mlconsole_version")),
            schema_version=version,
        )


def _version(data: Any, schema_id: str, source: str) -> int:
    if not isinstance(data, Mapping) or data.get("schema") != schema_id:
        raise SummaryUnreadable(f"{source}: not an mlconsole summary (schema {schema_id!r})")
    version = data.get("schema_version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        known = ", ".join(str(v) for v in sorted(READABLE_VERSIONS))
        raise SummaryUnreadable(
            f"{source}: {schema_id} version {version!r} is not one this mlconsole reads "
            f"({known}); a newer mlconsole wrote it"
        )
    return int(version)


# --- files -------------------------------------------------------------------------------------


def _load(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise SummaryUnreadable(f"{path}: cannot read the {what} ({why})") from exc


def read_run_summary(path: Path) -> RunSummary:
    """orchestrator_summary.json at `path` (a file, or a run dir holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / RUN_SUMMARY_FILE
    return RunSummary.from_json(_load(path, "run summary"), source=str(path))


def read_group_summary(path: Path) -> GroupSummary:
    """group_summary.json at `path` (a file, or a group dir holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / GROUP_SUMMARY_FILE
    return GroupSummary.from_json(_load(path, "group summary"), source=str(path))


# --- RunSpec in JSON (the journal) -------------------------------------------------------------


def spec_to_json(spec: RunSpec) -> dict[str, Any]:
    return {
        "run_id": spec.run_id,
        "node": spec.node,
        "benchmark": spec.benchmark,
        "scenario": str(spec.scenario),
        "mode": str(spec.mode),
        "samples": spec.samples,
        "shard_start": spec.shard_start,
        "group_id": spec.group_id,
        "stage": spec.stage,
        "label": spec.label,
    }


def spec_from_json(data: Any) -> RunSpec:
    """The RunSpec `spec_to_json` wrote; ValueError (one sentence) when a field is missing or
    of the wrong kind."""
    d = _d(data)
    try:
        return RunSpec(
            run_id=str(d["run_id"]),
            node=str(d["node"]),
            benchmark=str(d["benchmark"]),
            scenario=Scenario(d["scenario"]),
            mode=Mode(d["mode"]),
            samples=int(d["samples"]),
            shard_start=int(d.get("shard_start") or 0),
            group_id=_str(d.get("group_id")),
            stage=str(d.get("stage") or ""),
            label=str(d.get("label") or ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a recorded run spec ({type(exc).__name__}: {exc})") from exc
