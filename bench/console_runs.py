"""What the console benches share: stopping the plan of a headless app once the figures are
taken. Not a script (no `__main__`), so `run_all` does not run it."""

from __future__ import annotations

from typing import Any

from figure_lines import note


async def stop_plan(app: Any) -> None:
    """Cancel the runs of `app` (a ConsoleApp) and wait for its plan; a cancel that fails
    after the measurement (a run that ended as it was cancelled) is said, not raised: the
    figures are taken by then."""
    from textual.worker import WorkerFailed

    app.orchestrator.cancel_all()
    try:
        await app.workers.wait_for_complete([w for w in app.workers if w.group == "plan"])
    except WorkerFailed as err:
        note(f"stopping the plan after the measurement failed: {err}")
