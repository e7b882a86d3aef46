"""The real `mlconsole` as a subprocess, for the CLI tests: one way to run a command to its
end, one way to start `--batch` and wait until its run is live on its node, and the readers of
what a plan left in its results dir (the summaries by run id, the journal's entries)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
# The demo harness's progress line on the batch console's stdout: the run is live on its node.
LIVE = re.compile(r"progress \d+/")


def mlconsole(
    *args: str, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """`mlconsole ARGS` to its end. stdin from /dev/null and no tty: a console opened by
    mistake would hang, and the timeout (generous for a loaded shared machine) fails it."""
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=ENV,
    )


def start_batch(
    cfg: Path, *, cwd: Path | None = None, stdout: int = subprocess.PIPE,
    stderr: int = subprocess.DEVNULL,
) -> subprocess.Popen[str]:
    """`mlconsole --batch cfg`, started (the caller kills or waits for it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "console.cli", "--batch", str(cfg)],
        cwd=cwd, env=ENV, stdout=stdout, stderr=stderr, text=True,
    )  # fmt: skip


def wait_until_live(proc: subprocess.Popen[str], also: Callable[[], bool] = lambda: True) -> None:
    """Read the batch console's stdout up to a progress line seen while `also()` holds; fails
    the test if the plan ended first."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if LIVE.search(line) and also():
            return
    pytest.fail("the plan ended before its run was live")


def summaries(results: Path) -> dict[str, dict]:
    """Every run's orchestrator_summary.json under `results`, as JSON, by run id."""
    return {
        s["run_id"]: s
        for s in (json.loads(p.read_text()) for p in results.glob("*/orchestrator_summary.json"))
    }


def journal(results: Path) -> list[dict]:
    """The plan journal's entries (none before it exists)."""
    try:
        text = (results / "journal.jsonl").read_text()
    except OSError:
        return []
    return [json.loads(x) for x in text.splitlines() if x.strip()]
