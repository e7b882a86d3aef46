"""Pictures of the main screen at 80x24 and 160x48, pinned as SVG snapshots.

The picture must be the same on every run, so no engine runs here: the app is fed the fixed
sequence of real engine events in tests/data/console/plan_events.json (see
tests/support/event_codec.py, which also regenerates it; then review the SVGs and run pytest
with --snapshot-update).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine import events as ev_mod
from engine.events import RunProgress
from tests.support.event_codec import SELECTED, Clock, feed, load_recording, make_app


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_main_screen(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    clock = Clock()
    app = make_app(tmp_path, clock)

    async def run_before(pilot: Any) -> None:
        await feed(app, clock, pilot, select=SELECTED)
        # The picture must show what the events said, or the snapshot pins a wrong screen.
        row = app.state.runs[SELECTED]
        assert row.state == "running" and 0 < (row.completed or 0) < (row.total or 0)
        assert app.state.runs["s1-fast-100"].validity == "VALID"

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_recording_is_real_engine_output() -> None:
    """The fixture holds what the engine published for a real plan: summaries in the store's
    schema, progress that advances, and the cut mid-group."""
    batches = load_recording()
    flat = [e for _, b in batches for e in b]
    finished = [e for e in flat if isinstance(e, ev_mod.RunFinished)]
    assert {e.run_id for e in finished} == {"s1-slow-100", "s1-fast-100"}
    for e in finished:
        # Recorded by 0.1.0 (schema 1), read through the schema's reader of older versions.
        assert e.summary.schema_version == 1 and e.summary.ok
        assert e.summary.samples_processed == 100
    progress = [e.completed for e in flat if isinstance(e, RunProgress) and e.run_id == SELECTED]
    assert progress == sorted(progress) and progress[-1] > progress[0]
