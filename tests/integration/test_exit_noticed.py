"""A local run's end is seen when the wrapper exits, not at the next poll (issue 14,
overhead): the runner waits on the wrapper's process (a pidfd) between polls."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

from engine.events import Event, RunFinished
from engine.model import NodeSpec
from engine.transport.base import LaunchRequest, RunHandle
from engine.transport.local import LocalTransport
from tests.support.cli import summaries
from tests.support.config_writer import write_config
from tests.support.plans import plan_table, run_plan


async def test_on_exit_calls_back_when_the_wrapper_exits(tmp_path: Path) -> None:
    t = LocalTransport(NodeSpec(name="local", transport="local", workdir=str(tmp_path)))
    run_dir = str(tmp_path / "r1")
    handle = await t.start(LaunchRequest("r1", run_dir, "sleep 0.3", run_dir))
    ended = asyncio.Event()
    t0 = time.monotonic()
    assert await t.on_exit(handle, ended.set) is not None
    await asyncio.wait_for(ended.wait(), 20.0)
    assert time.monotonic() - t0 < 5.0  # not the 20 s wait
    status = await t.status(handle)
    assert status.state == "exited" and status.exit_code == 0
    t.release(handle)
    # A live wrapper: no call back until it ends.
    sleeper = await t.start(LaunchRequest("r2", str(tmp_path / "r2"), "sleep 30", run_dir))
    called = asyncio.Event()
    try:
        assert await t.on_exit(sleeper, called.set) is not None
        await asyncio.sleep(0.3)
        assert not called.is_set()
    finally:
        await t.cancel(sleeper, grace_s=1.0)
        t.release(sleeper)


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


def _unreaped_wrapper(run_dir: Path, script: str) -> subprocess.Popen[bytes]:
    """A stand-in wrapper (`sh <run_dir>/launch.sh`, its own group) that this test process
    does not reap until it says so: once it exits it stays a zombie, as under a container's
    init that reaps nothing."""
    run_dir.mkdir(parents=True)
    (run_dir / "launch.sh").write_text(script)
    return subprocess.Popen(
        ["sh", str(run_dir / "launch.sh")], start_new_session=True, stdin=subprocess.DEVNULL
    )


async def test_the_exit_watch_wakes_on_exit_and_status_reads_the_end(tmp_path: Path) -> None:
    """The pidfd held for a followed run (`on_exit`, `status`): its callback comes when the
    wrapper exits, and status then reads the wrapper's files as before."""
    t = LocalTransport(NodeSpec(name="local", transport="local", workdir=str(tmp_path)))
    run_dir = str(tmp_path / "r1")
    handle = await t.start(LaunchRequest("r1", run_dir, "sleep 0.5", run_dir))
    assert (await t.status(handle)).state == "running"
    gone = asyncio.Event()
    unsubscribe = await t.on_exit(handle, gone.set)
    assert unsubscribe is not None
    await asyncio.wait_for(gone.wait(), 20.0)
    status = await t.status(handle)
    assert status.state == "exited" and status.exit_code == 0
    assert t._watches == {}  # released once the end was read
    await t.close()


async def test_a_zombie_wrapper_is_not_running_once_watched(tmp_path: Path) -> None:
    """A watched wrapper that exits without writing exit_code and is never reaped (a zombie)
    is vanished, as /proc alone said before: the pidfd counts a zombie as exited."""
    t = LocalTransport(NodeSpec(name="local", transport="local", workdir=str(tmp_path)))
    run_dir = tmp_path / "r1"
    wrapper = _unreaped_wrapper(run_dir, "sleep 0.5\n")
    try:
        handle = RunHandle("local", "r1", str(run_dir), wrapper.pid)
        assert (await t.status(handle)).state == "running"
        gone = asyncio.Event()
        assert await t.on_exit(handle, gone.set) is not None
        await asyncio.wait_for(gone.wait(), 20.0)
        assert Path(f"/proc/{wrapper.pid}/stat").read_text().split(") ")[1][0] == "Z"
        assert (await t.status(handle)).state == "vanished"
    finally:
        wrapper.wait()
        await t.close()


async def test_a_pid_that_is_not_the_runs_wrapper_gets_no_watch(tmp_path: Path) -> None:
    """A handle whose pid runs something else (a reused pid): no pidfd is held for it, its
    exit is not watched, and status says the run vanished."""
    t = LocalTransport(NodeSpec(name="local", transport="local", workdir=str(tmp_path)))
    other = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        handle = RunHandle("local", "r1", str(tmp_path / "r1"), other.pid)
        assert await t.on_exit(handle, lambda: None) is None
        assert (await t.status(handle)).state == "vanished"
        assert t._watches == {}
    finally:
        other.kill()
        other.wait()


async def test_read_from_reads_from_the_offset_and_says_nothing_for_what_is_not_a_file(
    tmp_path: Path,
) -> None:
    t = LocalTransport(NodeSpec(name="local", transport="local", workdir=str(tmp_path)))
    (tmp_path / "a.txt").write_bytes(b"hello\nworld\n")
    assert await t.read_from(str(tmp_path / "a.txt"), 6) == b"world\n"
    assert await t.read_from(str(tmp_path / "a.txt"), 6, 3) == b"wor"
    assert await t.read_from(str(tmp_path / "a.txt"), 99) == b""
    assert await t.read_from(str(tmp_path / "absent"), 0) == b""
    assert await t.read_from(str(tmp_path), 0) == b""  # a directory
    big = os.urandom(3 << 20)
    (tmp_path / "big.bin").write_bytes(big)
    assert (
        await t.read_from(str(tmp_path / "big.bin"), 1000, 2 << 20) == big[1000 : 1000 + (2 << 20)]
    )
    # /proc files report size 0: read as what they hold (detach.read_status depends on it).
    assert (
        await t.read_from(f"/proc/{os.getpid()}/cmdline", 0)
        == Path(f"/proc/{os.getpid()}/cmdline").read_bytes()
    )
