"""The results store: run dirs on the controller, their summaries, and the journal that lets a
restarted console find detached runs again.

Layout::

    results/
      <node>_<YYYYmmdd_HHMMSS>[_N]/        one run
        mlperf_log_summary.txt, mlperf_log_detail.txt
        [mlperf_log_accuracy.json, mlperf_log_trace.json]
        stdout.log, stderr.log, command.sh, user.conf
        config.snapshot.toml                resolved config, secrets redacted
        telemetry.csv                       GPU samples during the run (or a no-telemetry record)
        orchestrator_summary.json           RUN_SCHEMA below
        <node>_comprehensive_report.md
      group_<name>_<YYYYmmdd_HHMMSS>[_N]/  one parallel group
        group_summary.json                  GROUP_SCHEMA below; its shards are ordinary run dirs
      journal.jsonl                         one line per started / finished run (re-attach)

orchestrator_summary.json (schema "mlconsole.run_summary", version 1)::

    schema, schema_version, mlconsole_version, run_id, run_dir (dir name), kind="run",
    node, group_id, stage, label, benchmark, scenario, mode, dataset_size, simulated,
    samples_requested, shard_start, samples_processed (from LoadGen's logs; null if unknown),
    wall: {start, end (ISO 8601 UTC), start_unix, end_unix, duration_s},
    loadgen: {complete, validity, validity_reasons[], metric: {name, value, unit, key} | null,
              token_metric: {...} | null, generated_total, errors, warnings, problems[]},
    wall_throughput: {value, unit: "samples/s"} | null,
    exit: {state (RunState value), code, detail},
    host: {os, python, loadgen_version, gpu_state, gpus[]},
    telemetry: {state, detail, gpus: [{gpu, name, samples, util_mean, util_p95, util_max,
                mem_peak_mib}]},
    files: [names in the run dir when the summary was written]

group_summary.json (schema "mlconsole.group_summary", version 1)::

    schema, schema_version, group_id, name, group_dir, benchmark, scenario, mode, dataset_size,
    nodes[], split, split_source, simulated,
    shards: [{node, run_id, run_dir, shard_start, samples_requested, samples_processed,
              duration_s, start_unix, end_unix, state, metric: {...} | null,
              wall_throughput}],
    total_samples_requested, samples_processed, start_unix, end_unix, makespan_s,
    combined_throughput, sum_loadgen_metric: {value, unit} | null, sequential_s, speedup,
    single_run_throughputs: {node: value | null}, single_run_sources: {node: run_dir | null},
    scaling_efficiency
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUN_SCHEMA = "mlconsole.run_summary"
GROUP_SCHEMA = "mlconsole.group_summary"
SCHEMA_VERSION = 1
RUN_SUMMARY = "orchestrator_summary.json"
GROUP_SUMMARY = "group_summary.json"
SNAPSHOT = "config.snapshot.toml"
TELEMETRY = "telemetry.csv"
JOURNAL = "journal.jsonl"

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_component(name: str, what: str = "name") -> str:
    """A single path component we are about to create: no separators, no '..'."""
    if not _SAFE.match(name) or ".." in name:
        raise ValueError(f"unsafe {what} {name!r}: use letters, digits, '.', '_' and '-'")
    return name


def timestamp(t: float | None = None) -> str:
    return time.strftime("%Y%m%d_%H%M%S", time.localtime(t))


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Atomic write: a reader never sees half a summary."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)


@dataclass(frozen=True)
class RecordedRun:
    run_dir: Path
    summary: Mapping[str, Any]


@dataclass(frozen=True)
class RecordedGroup:
    group_dir: Path
    summary: Mapping[str, Any]


class ResultsStore:
    """Owns `results_dir`. Creating a dir is collision-safe: an existing name gets `_2`, `_3`..."""

    def __init__(self, results_dir: str | Path) -> None:
        self.root = Path(results_dir)

    def _new_dir(self, stem: str) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        n = 1
        while True:
            path = self.root / (stem if n == 1 else f"{stem}_{n}")
            try:
                path.mkdir()
                return path
            except FileExistsError:
                n += 1

    def new_run_dir(self, node: str, t: float | None = None) -> Path:
        return self._new_dir(f"{check_component(node, 'node name')}_{timestamp(t)}")

    def new_group_dir(self, name: str, t: float | None = None) -> Path:
        return self._new_dir(f"group_{check_component(name, 'group name')}_{timestamp(t)}")

    def journal(self, entry: Mapping[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / JOURNAL, "a") as f:
            f.write(json.dumps(entry, default=str) + "\n")

    def journal_entries(self) -> list[dict[str, Any]]:
        try:
            lines = (self.root / JOURNAL).read_text().splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def unfinished(self) -> list[dict[str, Any]]:
        """Journal 'started' entries with no 'finished' entry: runs a restarted console can
        re-attach to."""
        started: dict[str, dict[str, Any]] = {}
        for e in self.journal_entries():
            key = e.get("run_dir")
            if e.get("event") == "started" and key:
                started[key] = e
            elif e.get("event") == "finished" and key:
                started.pop(key, None)
        return list(started.values())

    def runs(self) -> Iterator[RecordedRun]:
        """Every run dir with a readable summary, oldest first."""
        yield from (RecordedRun(p.parent, s) for p, s in self._summaries(RUN_SUMMARY, RUN_SCHEMA))

    def groups(self) -> Iterator[RecordedGroup]:
        yield from (
            RecordedGroup(p.parent, s) for p, s in self._summaries(GROUP_SUMMARY, GROUP_SCHEMA)
        )

    def _summaries(self, name: str, schema: str) -> Iterator[tuple[Path, dict[str, Any]]]:
        if not self.root.is_dir():
            return
        for d in sorted(self.root.iterdir()):
            p = d / name
            try:
                data = json.loads(p.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            if isinstance(data, dict) and data.get("schema") == schema:
                yield p, data
