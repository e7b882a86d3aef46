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
        orchestrator_summary.json           a RunSummary (engine.results.schema)
        <node>_comprehensive_report.md
      group_<name>_<YYYYmmdd_HHMMSS>[_N]/  one parallel group
        group_summary.json                  a GroupSummary; its shards are ordinary run dirs
      journal.jsonl                         one line per started / finished run (re-attach)

The two summary files' schema, writer and reader are `engine.results.schema`'s.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from engine.model import ContainerRef, RunSpec, RunState
from engine.results.group_schema import GroupSummary, read_group_summary
from engine.results.schema import (
    GROUP_SUMMARY_FILE,
    RUN_SUMMARY_FILE,
    RunSummary,
    SummaryUnreadable,
    read_run_summary,
    spec_from_json,
    spec_to_json,
)

T = TypeVar("T")

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
    """Atomic write: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)


def write_run_summary(run_dir: Path, summary: RunSummary) -> Path:
    path = Path(run_dir) / RUN_SUMMARY_FILE
    write_json(path, summary.to_json())
    return path


def write_group_summary(group_dir: Path, summary: GroupSummary) -> Path:
    path = Path(group_dir) / GROUP_SUMMARY_FILE
    write_json(path, summary.to_json())
    return path


@dataclass(frozen=True)
class StartedRun:
    """A journal `started` line: a run launched detached, and where to find it again."""

    spec: RunSpec
    run_dir: str  # the controller-side run dir's name, under the results dir
    node_run_dir: str
    log_dir: str
    pid: int
    config: str = ""
    t: float = 0.0
    job_id: str | None = None  # the scheduler's job (Slurm): how a later console finds it
    container: ContainerRef | None = None  # the run's container, stopped by name on cancel

    def to_json(self) -> dict[str, Any]:
        return {
            "event": "started",
            "run_id": self.spec.run_id,
            "node": self.spec.node,
            "run_dir": self.run_dir,
            "node_run_dir": self.node_run_dir,
            "log_dir": self.log_dir,
            "pid": self.pid,
            "spec": spec_to_json(self.spec),
            "config": self.config,
            "t": self.t,
            **({"job_id": self.job_id} if self.job_id else {}),
            **({"container": self.container.to_json()} if self.container else {}),
        }

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> StartedRun:
        """ValueError (one sentence) when the line lacks what a re-attach needs."""
        try:
            return cls(
                spec=spec_from_json(entry.get("spec")),
                run_dir=check_component(str(entry["run_dir"]), "run dir"),
                node_run_dir=str(entry["node_run_dir"]),
                log_dir=str(entry["log_dir"]),
                pid=int(entry["pid"]),
                config=str(entry.get("config") or ""),
                t=float(entry.get("t") or 0.0),
                job_id=str(entry["job_id"]) if entry.get("job_id") else None,
                container=ContainerRef.from_json(entry.get("container")),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a journal 'started' line (no {exc})") from exc


@dataclass(frozen=True)
class RecordedRun:
    """A run dir and its summary, as read back."""

    run_dir: Path
    summary: RunSummary


@dataclass(frozen=True)
class RecordedGroup:
    group_dir: Path
    summary: GroupSummary


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

    def new_search_dir(self, name: str, t: float | None = None) -> Path:
        """A QPS search's dir: its qps_search.json and chart (its runs have their own)."""
        return self._new_dir(f"qps_{check_component(name, 'stage name')}_{timestamp(t)}")

    def journal(self, entry: Mapping[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / JOURNAL, "a") as f:
            f.write(json.dumps(entry, default=str) + "\n")

    def journal_started(self, run: StartedRun) -> None:
        self.journal(run.to_json())

    def journal_finished(self, run_id: str, run_dir: str, state: RunState) -> None:
        self.journal(
            {
                "event": "finished",
                "run_id": run_id,
                "run_dir": run_dir,
                "state": state.value,
                "t": time.time(),
            }
        )

    def journal_entries(self) -> list[dict[str, Any]]:
        """The journal's entries; a line that is not one (not UTF-8, not JSON, not a JSON
        object: a torn write or a hand edit) is passed over and named by `journal_problems`."""
        return self._read_journal()[0]

    def journal_problems(self) -> list[str]:
        """One sentence per journal line that `journal_entries` passes over."""
        return self._read_journal()[1]

    def _read_journal(self) -> tuple[list[dict[str, Any]], list[str]]:
        path = self.root / JOURNAL
        try:
            lines = path.read_bytes().splitlines()
        except OSError:
            return [], []
        out: list[dict[str, Any]] = []
        problems: list[str] = []
        for n, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                entry = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                problems.append(f"{path}:{n}: not UTF-8 text")
                continue
            except json.JSONDecodeError:
                problems.append(f"{path}:{n}: not a JSON line (cut off?)")
                continue
            if not isinstance(entry, dict) or not all(isinstance(k, str) for k in entry):
                problems.append(
                    f"{path}:{n}: a JSON {type(entry).__name__}, not a journal entry (an object)"
                )
                continue
            out.append(entry)
        return out, problems

    def unfinished(self) -> list[dict[str, Any]]:
        """Journal 'started' entries with no 'finished' entry: runs a restarted console can
        re-attach to."""
        started: dict[str, dict[str, Any]] = {}
        for e in self.journal_entries():
            key = e.get("run_dir")
            if not isinstance(key, str):
                continue
            if e.get("event") == "started" and key:
                started[key] = e
            elif e.get("event") == "finished" and key:
                started.pop(key, None)
        return list(started.values())

    def unfinished_runs(self) -> tuple[list[StartedRun], list[str]]:
        """The unfinished runs as StartedRuns, and a sentence for each line that cannot be
        one (so a re-attach says what it passed over)."""
        runs: list[StartedRun] = []
        problems = self.journal_problems()
        for entry in self.unfinished():
            try:
                runs.append(StartedRun.from_json(entry))
            except ValueError as exc:
                problems.append(f"journal run {entry.get('run_dir')}: {exc}")
        return runs, problems

    def runs(self) -> Iterator[RecordedRun]:
        """Every run dir with a readable summary, in dir-name order. A dir whose summary
        cannot be read (not ours, broken, a newer schema) is passed over; `unreadable()`
        names each with the reason."""
        for d, summary in self._read_all(RUN_SUMMARY_FILE, read_run_summary):
            if not isinstance(summary, SummaryUnreadable):
                yield RecordedRun(d, summary)

    def read_all(self) -> tuple[list[RecordedRun], list[RecordedGroup], list[str]]:
        """`runs()`, `groups()` and `unreadable()` in one pass: each summary file is read once
        (a report over 1,000 runs read them twice, 0.1 s of its 2 s)."""
        runs: list[RecordedRun] = []
        groups: list[RecordedGroup] = []
        problems: list[str] = []
        for d, summary in self._read_all(RUN_SUMMARY_FILE, read_run_summary):
            if isinstance(summary, SummaryUnreadable):
                problems.append(str(summary))
            else:
                runs.append(RecordedRun(d, summary))
        for d, group in self._read_all(GROUP_SUMMARY_FILE, read_group_summary):
            if isinstance(group, SummaryUnreadable):
                problems.append(str(group))
            else:
                groups.append(RecordedGroup(d, group))
        return runs, groups, problems

    def groups(self) -> Iterator[RecordedGroup]:
        """Every group dir with a readable summary, as `runs()`."""
        for d, summary in self._read_all(GROUP_SUMMARY_FILE, read_group_summary):
            if not isinstance(summary, SummaryUnreadable):
                yield RecordedGroup(d, summary)

    def unreadable(self) -> list[str]:
        """One sentence per summary file under the root that `runs()`/`groups()` pass over."""
        return [
            str(summary)
            for name, read in (
                (RUN_SUMMARY_FILE, read_run_summary),
                (GROUP_SUMMARY_FILE, read_group_summary),
            )
            for _, summary in self._read_all(name, read)
            if isinstance(summary, SummaryUnreadable)
        ]

    def _read_all(
        self, name: str, read: Callable[[Path], T]
    ) -> Iterator[tuple[Path, T | SummaryUnreadable]]:
        """(dir, its summary, or the SummaryUnreadable that says why not) for each dir under
        the root that holds a file `name`, in dir-name order."""
        for d in self._dirs(name):
            try:
                yield d, read(d / name)
            except SummaryUnreadable as exc:
                yield d, exc

    def _dirs(self, name: str) -> Iterator[Path]:
        if not self.root.is_dir():
            return
        for d in sorted(self.root.iterdir()):
            if (d / name).is_file():
                yield d
