"""The notice bar says where the reports stand after a plan's outcome (issue 14): pending
while the reports writer draws them, then how many files were written and where, or why
not; a new plan clears it."""

from __future__ import annotations

from pathlib import Path

from console.tui.state import ConsoleState
from engine.events import PlanFinished, PlanStarted, ReportsFailed, ReportsPending, ReportsWritten


def test_the_notice_bar_says_reports_pending_then_written_or_failed() -> None:
    state = ConsoleState(None, clock=lambda: 0.0)
    changes = state.apply_all([PlanFinished(True, ("r1",)), ReportsPending("/x/reports")])
    assert changes.header
    line = state.notice_line("c.toml")
    assert "plan done: 1 succeeded" in line and "reports pending" in line
    paths = (Path("/x/reports/a.md"), Path("/x/reports/charts/b.png"))
    changes = state.apply_all([ReportsWritten(paths, "/x/reports", 0.4)])
    assert changes.reports == tuple(str(p) for p in paths)  # the toast's paths, as before
    line = state.notice_line("c.toml")
    assert "reports: 2 files in /x/reports" in line and "pending" not in line
    state.apply_all([ReportsFailed("/x/reports", "OSError: disk full")])
    assert "reports not written: OSError: disk full" in state.notice_line("c.toml")
    state.apply_all([PlanStarted("c.toml", 1, 1, False)])
    assert "reports" not in state.notice_line("c.toml")
