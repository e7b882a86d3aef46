"""The results files' schema: `orchestrator_summary.json` (one run) and `group_summary.json`
(one parallel group) as typed frozen dataclasses, with the one writer (`to_json`) and the one
reader (`read_run_summary`, `engine.results.group_schema.read_group_summary`) that everything
else uses.

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
    accuracy: {state, command, exit_code, detail, file, scores{}, level, verdict,
               checks: [{metric, value, reference, low, high, met}], targets_source}
              (accuracy-mode runs with an accuracy_command: engine.checks.accuracy)
    compliance: {test, source, placed_at, removed, removal_detail, applied, verify_command,
                 verify_exit_code, verify_file, verify_passed, verify_lines[], verify_detail}
              (compliance stages' runs: engine.checks.compliance)

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
too: `spec_to_json` and `spec_from_json`. The group summary's classes are in
`engine.results.group_schema`, the node parts (host, telemetry) in `engine.results.node_records`,
the field readers in `engine.results.coerce`.

The run summary's writer, its reader, the versions it reads and the layout are one contract
with every results dir already written; they change together, so they are read together. Its
parts live apart (group summary, node records, field readers, the record codec).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.checks.accuracy import AccuracyRecord
from engine.checks.compliance import ComplianceRecord, test_from_json, test_to_json
from engine.errors import MlconsoleError
from engine.model import Mode, RunSpec, RunState, Scenario
from engine.results.coerce import as_float, as_int, as_mapping, as_str
from engine.results.node_records import HostRecord, TelemetryRecord
from engine.results.record import JsonRecord, record_from_json
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
class Metric(JsonRecord):
    """A LoadGen figure as its summary names it (`key` is the summary's field name)."""

    name: str | None
    value: float | None
    unit: str | None
    key: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> Metric | None:  # type: ignore[override]
        return record_from_json(cls, data) if isinstance(data, Mapping) else None


@dataclass(frozen=True)
class WallClock(JsonRecord):
    """Launch to exit on the node's clock; `start`/`end` are the same instants in ISO 8601."""

    start: str | None = None
    end: str | None = None
    start_unix: float | None = None
    end_unix: float | None = None
    duration_s: float | None = None


@dataclass(frozen=True)
class LoadgenRecord(JsonRecord):
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

    @classmethod
    def from_json(cls, data: Any) -> LoadgenRecord:
        d = as_mapping(data)
        return record_from_json(
            cls,
            d,
            metric=Metric.from_json(d.get("metric")),
            token_metric=Metric.from_json(d.get("token_metric")),
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
        d = as_mapping(data)
        return cls(
            run_state(d.get("state"), version), as_int(d.get("code")), as_str(d.get("detail")) or ""
        )


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
    # The accuracy step's record (accuracy-mode runs of a benchmark with accuracy_command).
    accuracy: AccuracyRecord | None = None
    # A compliance test's record (runs of a compliance stage).
    compliance: ComplianceRecord | None = None
    # The container the harness ran in: runtime, image, and the name mlconsole gave it.
    container: Mapping[str, str] | None = None

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
        if self.accuracy is not None:
            out["accuracy"] = self.accuracy.to_json()
        if self.compliance is not None:
            out["compliance"] = self.compliance.to_json()
        if self.container is not None:
            out["container"] = dict(self.container)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, source: str = "run summary") -> RunSummary:
        """Any readable version; raises SummaryUnreadable (naming `source`) otherwise."""
        version = checked_version(data, RUN_SUMMARY_SCHEMA_ID, source)
        return record_from_json(
            cls,
            data,
            exit=ExitRecord.from_json(data.get("exit"), version),
            wall=WallClock.from_json(data.get("wall")),
            loadgen=LoadgenRecord.from_json(data.get("loadgen")),
            wall_throughput=as_float(as_mapping(data.get("wall_throughput")).get("value")),
            host=HostRecord.from_json(data.get("host")),
            telemetry=TelemetryRecord.from_json(data.get("telemetry")),
            schema_version=version,
            kind=as_str(data.get("kind")) or "run",
            fleet=data.get("fleet") if isinstance(data.get("fleet"), Mapping) else None,
            eligibility=Eligibility.from_json(
                as_mapping(data.get("submission")).get("eligibility")
            ),
            checker_headline=CheckerHeadline.from_json(
                as_mapping(data.get("submission")).get("checker_headline")
            ),
            accuracy=AccuracyRecord.from_json(data.get("accuracy")),
            compliance=ComplianceRecord.from_json(data.get("compliance")),
            container={str(k): str(v) for k, v in data["container"].items()}
            if isinstance(data.get("container"), Mapping)
            else None,
        )


def checked_version(data: Any, schema_id: str, source: str) -> int:
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


def load_summary_json(path: Path, what: str) -> Any:
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
    return RunSummary.from_json(load_summary_json(path, "run summary"), source=str(path))


# --- RunSpec in JSON (the journal) -------------------------------------------------------------


def spec_to_json(spec: RunSpec) -> dict[str, Any]:
    out: dict[str, Any] = {
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
    # Only a compliance test's or a QPS search's run has these (older journals lack them).
    if spec.compliance is not None:
        out["compliance"] = test_to_json(spec.compliance)
    if spec.target_qps is not None:
        out["target_qps"] = spec.target_qps
    return out


def spec_from_json(data: Any) -> RunSpec:
    """The RunSpec `spec_to_json` wrote; ValueError (one sentence) when a field is missing or
    of the wrong kind."""
    d = as_mapping(data)
    try:
        return RunSpec(
            run_id=str(d["run_id"]),
            node=str(d["node"]),
            benchmark=str(d["benchmark"]),
            scenario=Scenario(d["scenario"]),
            mode=Mode(d["mode"]),
            samples=int(d["samples"]),
            shard_start=int(d.get("shard_start") or 0),
            group_id=as_str(d.get("group_id")),
            stage=str(d.get("stage") or ""),
            label=str(d.get("label") or ""),
            compliance=test_from_json(d.get("compliance")),
            target_qps=as_float(d.get("target_qps")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a recorded run spec ({type(exc).__name__}: {exc})") from exc
