"""The plan's outcome comes before its reports (issue 14, overhead): PlanFinished and
`run_plan`'s return do not wait for the charts; the reports writer writes them after, says so
on the bus, and `close()` (so `mlconsole --batch`'s exit, Ctrl-C included) waits for them."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from engine.config.load import load_config
from engine.events import Event, PlanFinished, ReportsFailed, ReportsPending, ReportsWritten
from engine.run.orchestrator import Orchestrator
from tests.support.cli import ENV, mlconsole, start_batch
from tests.support.config_writer import write_config
from tests.support.plans import plan_table

ONE_RUN = plan_table("run", node="slow", benchmark="demo", samples=40)


def report_files(root: Path) -> list[Path]:
    """Every report a one-run plan leaves: the run's report, the pipeline report, the charts."""
    return [
        *(root / "results").glob("*/*_comprehensive_report.md"),
        *(root / "reports").glob("*.md"),
        *(root / "reports" / "charts").glob("*.png"),
    ]


async def test_the_outcome_is_published_and_returned_before_the_reports(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, speeds={"slow": 400}, plan=ONE_RUN)
    orch = Orchestrator(load_config(cfg))
    events: list[Event] = []
    at_outcome: list[Path] = []

    def listen(event: Event) -> None:
        events.append(event)
        if isinstance(event, PlanFinished):
            at_outcome.extend(report_files(tmp_path))

    orch.bus.add_listener(listen)
    try:
        outcome = await orch.run_plan()
        assert outcome.ok, outcome.failures
        kinds = [type(e) for e in events]
        assert PlanFinished in kinds
        assert at_outcome == []  # no report, chart nor run report before the outcome
        assert orch.reports.pending  # returned with the reports still to write
    finally:
        await orch.close()
    kinds = [type(e) for e in events]
    assert kinds.index(PlanFinished) < kinds.index(ReportsPending) < kinds.index(ReportsWritten)
    (written,) = [e for e in events if isinstance(e, ReportsWritten)]
    assert written.reports_dir == str(tmp_path / "reports")
    assert written.elapsed_s is not None and written.elapsed_s > 0
    on_disk = report_files(tmp_path)
    assert {p.name for p in on_disk} >= {
        "slow_comprehensive_report.md",
        "mlconsole_pipeline_report.md",
        "performance_analysis.png",
    }
    assert set(on_disk) <= {Path(p) for p in written.paths}  # each one said
    assert not orch.reports.pending


def test_the_batch_prints_the_outcome_then_the_reports_and_exits_with_them_written(
    tmp_path: Path,
) -> None:
    cfg = write_config(tmp_path, speeds={"slow": 400}, plan=ONE_RUN)
    res = mlconsole("--batch", str(cfg))
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    done = next(i for i, line in enumerate(lines) if "done in" in line)
    reports = next(i for i, line in enumerate(lines) if "reports: " in line)
    assert done < reports
    assert f"files in {tmp_path / 'reports'}" in lines[reports]
    assert len(report_files(tmp_path)) >= 6  # run report, pipeline report, four charts


def test_ctrl_c_after_the_outcome_still_writes_every_report(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, speeds={"slow": 400}, plan=ONE_RUN)
    proc = start_batch(cfg, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "done in" in line:  # the outcome is out; the reports are being written
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err  # the plan succeeded: nothing was cancelled
    assert "Traceback" not in err
    assert "reports: " in out
    assert {p.name for p in report_files(tmp_path)} >= {
        "slow_comprehensive_report.md",
        "mlconsole_pipeline_report.md",
        "performance_analysis.png",
    }


async def test_a_report_that_cannot_be_written_is_said_and_fails_the_batch(
    tmp_path: Path,
) -> None:
    (tmp_path / "reports").write_text("a file where the reports dir should be\n")
    cfg = write_config(tmp_path, speeds={"slow": 400}, plan=ONE_RUN)
    res = mlconsole("--batch", str(cfg))
    assert res.returncode == 1, res.stdout + res.stderr
    assert "ERROR reports not written" in res.stdout
    assert "reports not written" in res.stderr and "Traceback" not in res.stderr
    orch = Orchestrator(load_config(cfg))
    events: list[Event] = []
    orch.bus.add_listener(events.append)
    try:
        orch.reports.rebuild()
    finally:
        await orch.close()
    assert [e for e in events if isinstance(e, ReportsFailed)]
    assert orch.reports.failures


def test_a_plan_without_a_fleet_stage_does_not_import_aiohttp(tmp_path: Path) -> None:
    """aiohttp (the fleet's client) is 0.3 s of imports that delayed every plan's first
    launch; only a plan with a fleet stage needs it."""
    cfg = write_config(tmp_path, speeds={"slow": 400}, plan=ONE_RUN)
    code = (
        "import asyncio, sys\n"
        "from tests.support.plans import run_plan\n"
        f"run = asyncio.run(run_plan({str(cfg)!r}))\n"
        "assert run.outcome.ok, run.outcome.failures\n"
        "print('aiohttp' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "False"
