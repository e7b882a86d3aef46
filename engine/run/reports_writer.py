"""Writes the reports after the outcome: per-run reports while the next runs go, the charts and
the pipeline report once a plan's outcome is out.

Why a writer of its own: the charts and reports take about 0.5 to 1 s (matplotlib's drawing,
the markdown), and a plan's outcome (PlanFinished, `run_plan`'s return) must not wait for
them: a 20 s run would pay 3 to 5 % for its reports. So the orchestrator hands the reports to
this writer and goes on; the writer does the work in a worker thread, one job at a time, and
says what it does on the bus (`ReportsPending`, then `ReportsWritten` or `ReportsFailed`).

Nothing is lost on exit: `drain()` waits for every job asked for, and the orchestrator's
`close()` drains before anything else, so `mlconsole --batch` (and the console, on quit)
writes every report before it exits, Ctrl-C included (a cancel stops runs, not reports).

A rebuild writes every run's report again from the results dir, so a run report still waiting
when a rebuild is asked for is dropped: the rebuild writes it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.events import EventBus, ReportsFailed, ReportsPending, ReportsWritten

# A run report waits this long before it is rendered, so that what follows a run at once (the
# next run's launch, the plan's outcome) does not share the GIL with it; a rebuild asked for
# meanwhile writes it instead (the last run of a plan is then rendered once, not twice).
RUN_REPORT_DELAY_S = 0.25
PLAN = "plan"  # every run's report, the charts and the pipeline report (rebuild_reports)
RUN = "run"  # one run's report, in its run dir


@dataclass
class _Job:
    kind: str  # PLAN | RUN
    run_dir: Path | None = None
    regression: Any = None  # engine.checks.regression.Regression, for a run report
    done: asyncio.Future[list[Path]] | None = None


class ReportsWriter:
    """One queue of report jobs, worked through in order in a worker thread each."""

    def __init__(
        self,
        bus: EventBus,
        results_dir: Path,
        reports_dir: Path,
        ready: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.bus = bus
        self.results_dir = Path(results_dir)
        self.reports_dir = Path(reports_dir)
        self._ready = ready  # awaited before each job (the report libraries' preload)
        self._queue: list[_Job] = []
        self._worker: asyncio.Task[None] | None = None
        self.failures: list[str] = []  # one sentence per job that failed, for the exit code
        self._wake = asyncio.Event()  # set by rebuild(): a run report's wait ends at once

    @property
    def pending(self) -> bool:
        return bool(self._queue) or (self._worker is not None and not self._worker.done())

    def run_report(self, run_dir: Path, regression: Any = None) -> None:
        """Write one run's report (in its run dir) soon; returns at once."""
        if any(j.kind == PLAN for j in self._queue):
            return  # the rebuild waiting already writes it
        self._add(_Job(RUN, Path(run_dir), regression))

    def rebuild(self) -> asyncio.Future[list[Path]]:
        """Rebuild every report and the charts soon; returns at once. The future is the
        paths written (or the job's exception); a rebuild waiting already is shared."""
        waiting = next((j for j in self._queue if j.kind == PLAN), None)
        if waiting is not None and waiting.done is not None:
            return waiting.done
        # Run reports still waiting are written by the rebuild.
        self._queue = [j for j in self._queue if j.kind != RUN]
        job = _Job(PLAN, done=asyncio.get_running_loop().create_future())
        self._add(job)
        self._wake.set()
        self.bus.publish(ReportsPending(str(self.reports_dir)))
        assert job.done is not None
        return job.done

    async def drain(self) -> None:
        """Wait until every job asked for so far (and any asked for meanwhile) is done."""
        while self._worker is not None and not self._worker.done():
            await asyncio.shield(self._worker)

    def _add(self, job: _Job) -> None:
        self._queue.append(job)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name="mlconsole-reports")

    async def _work(self) -> None:
        while self._queue:
            if self._queue[0].kind == RUN:
                # Let the next launch go first; a rebuild asked for meanwhile ends the wait.
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), RUN_REPORT_DELAY_S)
                except TimeoutError:
                    pass
                if not self._queue:
                    break
            job = self._queue.pop(0)
            if self._ready is not None:
                await self._ready()
            if job.kind == RUN:
                await self._run_report(job)
            else:
                await self._rebuild(job)

    async def _run_report(self, job: _Job) -> None:
        from engine.analysis.report.rebuild import write_run_report

        assert job.run_dir is not None
        try:
            await asyncio.to_thread(write_run_report, job.run_dir, job.regression)
        except Exception as exc:  # noqa: BLE001 - said on the bus; the plan goes on
            self._failed(f"{job.run_dir.name}'s report: {type(exc).__name__}: {exc}")

    async def _rebuild(self, job: _Job) -> None:
        from engine.analysis.report.rebuild import rebuild_reports

        assert job.done is not None
        t0 = time.monotonic()
        try:
            paths = await asyncio.to_thread(rebuild_reports, self.results_dir, self.reports_dir)
        except Exception as exc:  # noqa: BLE001 - said on the bus and kept for the exit code
            self._failed(f"{type(exc).__name__}: {exc}")
            if not job.done.done():
                job.done.set_exception(exc)
                job.done.exception()  # retrieved: a caller that does not wait is not warned
            return
        self.bus.publish(ReportsWritten(tuple(paths), str(self.reports_dir), time.monotonic() - t0))
        if not job.done.done():
            job.done.set_result(paths)

    def _failed(self, sentence: str) -> None:
        self.failures.append(sentence)
        self.bus.publish(ReportsFailed(str(self.reports_dir), sentence))
