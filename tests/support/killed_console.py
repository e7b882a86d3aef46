"""A console that is SIGKILLed mid-plan, for the re-attach tests: `mlconsole --batch` and
`mlconsole attach` as real subprocesses, and readers of what they left in the results dir."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

REPO = Path(REPO_ROOT)


def mlconsole(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=150,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def journal(results: Path) -> list[dict]:
    try:
        text = (results / "journal.jsonl").read_text()
    except OSError:
        return []
    return [json.loads(x) for x in text.splitlines() if x.strip()]


def batch_killed_when(
    cfg: Path, results: Path, started: int, cwd: Path | None = None, collected: int = 0
) -> None:
    """`mlconsole --batch cfg`, SIGKILLed once the journal holds `started` started runs and
    the harness has begun (a progress line on stdout)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "--batch", str(cfg)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            n = sum(1 for e in journal(results) if e["event"] == "started")
            if re.search(r"progress \d+/", line) and n >= started:
                break
        else:
            pytest.fail("the plan ended before it could be killed")
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert len(list(results.glob("*/orchestrator_summary.json"))) == collected


def summaries(results: Path) -> dict[str, dict]:
    return {
        s["run_id"]: s
        for s in (json.loads(p.read_text()) for p in results.glob("*/orchestrator_summary.json"))
    }
