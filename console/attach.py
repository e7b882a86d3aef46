"""What `mlconsole attach` was pointed at, and the sentence it says when it finds nothing.

A results_dir in a config is relative to the directory mlconsole runs in, so `attach` run from
another directory reads another (usually absent) journal: it says which journal it read, and
takes a results dir (whose journal names its config) as well as a config.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import UsageError
from engine.model import Config
from engine.results.store import JOURNAL, ResultsStore


def attach_target(target: str, results_dir: str | None) -> tuple[str, str | None]:
    """(config path, results dir or None for the config's own) for `attach TARGET`."""
    path = Path(target)
    if path.is_dir():
        if results_dir is not None:
            raise UsageError(f"{target} is a results dir already; give --results-dir or it")
        return _config_of(path), str(path)
    if not path.is_file():
        raise UsageError(
            f"{target}: no such file or directory (give the config, or the results dir "
            "whose journal.jsonl to read)"
        )
    if results_dir is not None and not Path(results_dir).is_dir():
        raise UsageError(f"--results-dir {results_dir}: not a directory")
    return target, results_dir


def _config_of(results: Path) -> str:
    """The config the journal's last plan or run line names."""
    journal = results / JOURNAL
    found = {"plan": "", "started": ""}
    for entry in ResultsStore(results).journal_entries():
        if entry.get("event") in found and entry.get("config"):
            found[entry["event"]] = str(entry["config"])
    named = found["plan"] or found["started"]  # a plan line's path is absolute
    if not named:
        raise UsageError(
            f"{journal}: no run or plan line names its config; "
            f"give it: mlconsole attach CONFIG --results-dir {results}"
        )
    for candidate in (Path(named), results.parent / named):
        if candidate.is_file():
            return str(candidate)
    raise UsageError(
        f"{journal} names the config {named}, which is not there; "
        f"give it: mlconsole attach CONFIG --results-dir {results}"
    )


def nothing_to_attach(config: Config) -> str:
    """Where attach looked, said so that a wrong directory shows."""
    given = config.settings.results_dir
    journal = Path(given).resolve() / JOURNAL
    where = f"results_dir = {given!r} in {config.source}"
    if not Path(given).is_absolute():
        where += f", relative to the current directory {os.getcwd()}"
    if not journal.is_file():
        return (
            f"no journal at {journal} ({where}): nothing to re-attach; run attach from the "
            "directory the plan ran in, or give the results dir: mlconsole attach RESULTS_DIR"
        )
    return f"no unfinished runs or plan in {journal} ({where})"
