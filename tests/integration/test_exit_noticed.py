"""A local run's end is seen when the wrapper exits, not at the next poll (issue 14,
overhead): the runner waits on the wrapper's process (a pidfd) between polls."""

from __future__ import annotations

import time
from pathlib import Path

from engine.events import Event, RunFinished
from engine.model import NodeSpec
from engine.transport.base import LaunchRequest
from engine.transport.local import LocalTransport
from tests.support.cli import summaries
from tests.support.config_writer import write_config
from tests.support.plans import plan_table, run_plan


async def test_wait_exit_returns_when_the_wrapper_exits(tmp_path: Path) -> None:
    t = LocalTransport(NodeSpec(name="local", transport="local", workdir=str(tmp_path)))
    run_dir = str(tmp_path / "r1")
    handle = await t.start(LaunchRequest("r1", run_dir, "sleep 0.3", run_dir))
    t0 = time.monotonic()
    assert await t.wait_exit(handle, 20.0) is True
    assert time.monotonic() - t0 < 5.0  # not the 20 s timeout
    status = await t.status(handle)
    assert status.state == "exited" and status.exit_code == 0
    # A live wrapper: the timeout, and False.
    sleeper = await t.start(LaunchRequest("r2", str(tmp_path / "r2"), "sleep 30", run_dir))
    try:
        assert await t.wait_exit(sleeper, 0.2) is False
    finally:
        await t.cancel(sleeper, grace_s=1.0)


async def test_the_runner_sees_a_local_run_end_well_within_a_long_poll_interval(
    tmp_path: Path,
) -> None:
    cfg = write_config(
        tmp_path, speeds={"slow": 400}, plan=plan_table("run", node="slow", benchmark="demo",
                                                         samples=40),
    )  # fmt: skip
    cfg.write_text(cfg.read_text().replace("poll_interval_s = 0.1", "poll_interval_s = 4"))
    seen: list[float] = []

    def listen(event: Event) -> None:
        if isinstance(event, RunFinished):
            seen.append(time.time())

    run = await run_plan(cfg, listen, timeout_s=120)
    assert run.outcome.ok, run.outcome.failures
    (summary,) = summaries(tmp_path / "results").values()
    # The wrapper's end (the node's clock is this machine's) to the run's end event.
    late = seen[0] - summary["wall"]["end_unix"]
    assert late < 1.0, f"the end was seen {late:.2f} s after the wrapper's exit (poll 4 s)"
