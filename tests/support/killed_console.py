"""A console that is SIGKILLed mid-plan, for the re-attach tests: `mlconsole --batch` as a
real subprocess, killed once the journal says enough has started."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import journal, start_batch, wait_until_live


def batch_killed_when(
    cfg: Path, results: Path, started: int, cwd: Path | None = None, collected: int = 0
) -> None:
    """`mlconsole --batch cfg`, SIGKILLed once the journal holds `started` started runs and
    the harness has begun (a progress line on stdout)."""
    proc = start_batch(cfg, cwd=cwd)
    try:
        wait_until_live(
            proc, lambda: sum(1 for e in journal(results) if e["event"] == "started") >= started
        )
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert len(list(results.glob("*/orchestrator_summary.json"))) == collected
