"""The runner's polls land on a shared tick of the poll interval (`next_tick`): runs polled
at the same interval wake together, and no poll comes later than one interval after the
last."""

from __future__ import annotations

import math

from engine.run.runner import next_tick


def test_the_next_tick_is_the_first_multiple_of_the_interval_after_now() -> None:
    assert next_tick(10.2, 0.5) == 10.5
    assert next_tick(10.5, 0.5) == 11.0  # on a tick: the next one, never now
    assert next_tick(0.0, 0.05) == 0.05


def test_runs_at_one_interval_share_ticks_and_wait_at_most_an_interval() -> None:
    for interval in (0.5, 0.1, 0.05, 4.0):
        for k in range(200):
            now = 12345.678 + k * interval / 7.3
            due = next_tick(now, interval)
            assert now < due <= now + interval * (1 + 1e-9)
            assert math.isclose(due / interval, round(due / interval), abs_tol=1e-6)
            # Any other moment in the same tick gets the very same wake-up time.
            assert next_tick(due - interval * 0.999, interval) == due
