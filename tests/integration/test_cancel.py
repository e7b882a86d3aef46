"""Cancelling a run: the same safeguards on the local transport as on SSH nodes
(`engine.transport.detach.cancel_run`), and a cancel that does not go through ends the run in
a clear state without stopping the plan. Real processes throughout, except where said.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from engine.config.load import load_config
from engine.errors import TransportError
from engine.events import Event, RunProgress
from engine.model import NodeSpec, RunState
from engine.results.store import ResultsStore
from engine.run.orchestrator import Orchestrator
from engine.transport.base import RunHandle
from engine.transport.local import LocalTransport
from tests.support.config_writer import write_config


def _own_group(argv: list[str]) -> subprocess.Popen[bytes]:
    """A process leading a process group of its own, as a run's wrapper does."""
    return subprocess.Popen(argv, start_new_session=True, stdin=subprocess.DEVNULL)


async def test_local_cancel_leaves_a_pid_that_is_no_longer_the_run_alone(tmp_path: Path) -> None:
    """Pins defect 6 (reused pid): a handle whose pid now belongs to another process (its
    cmdline names no launch.sh of this run) is not signalled."""
    other = _own_group(["sleep", "30"])
    try:
        handle = RunHandle("local", "r1", str(tmp_path / "runs" / "r1"), other.pid)
        await LocalTransport(NodeSpec("local")).cancel(handle, grace_s=0.2)
        time.sleep(0.1)
        assert other.poll() is None  # still running: not ours to kill
    finally:
        other.kill()
        other.wait()


async def test_local_cancel_does_not_count_zombies_as_alive(tmp_path: Path) -> None:
    """Pins defect 6 (zombies): a group whose processes are all zombies is gone; the cancel
    returns at once instead of waiting out TERM and KILL on it."""
    run_dir = tmp_path / "runs" / "r2"
    run_dir.mkdir(parents=True)
    (run_dir / "launch.sh").write_text("exit 0\n")
    # A wrapper that exits at once and that nobody reaps: a zombie leading its group.
    zombie = _own_group(["sh", str(run_dir / "launch.sh")])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{zombie.pid}/stat").read_text().split(") ")[1][0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    try:
        handle = RunHandle("local", "r2", str(run_dir), zombie.pid)
        t0 = time.monotonic()
        await LocalTransport(NodeSpec("local")).cancel(handle, grace_s=3.0)
        assert time.monotonic() - t0 < 2.0
    finally:
        zombie.wait()


async def test_a_cancel_that_fails_ends_the_run_and_the_plan_goes_on(
    tmp_path: Path, monkeypatch
) -> None:
    """Pins defect 1: when the kill does not go through, the run ends CANCEL_FAILED with its
    summary written, naming where it may still be going; the journal keeps it for `attach`;
    the next stage still runs. (A process group that survives TERM and KILL cannot be made
    here, where the tests run as root: the transport's cancel is replaced by one that raises
    the TransportError a real survivor gives; the run itself is real and is killed after.)"""

    async def survives(self: LocalTransport, handle: RunHandle, *, grace_s: float = 5.0) -> None:
        raise TransportError(
            f"run {handle.run_id} on node {self.node.name!r} did not stop after TERM and KILL "
            f"(process group {handle.pid}): still running"
        )

    monkeypatch.setattr(LocalTransport, "cancel", survives)
    plan = (
        '\n[[plan]]\nkind = "run"\nnode = "slow"\nbenchmark = "demo"\nsamples = 400\n'
        '\n[[plan]]\nkind = "run"\nnode = "slow"\nbenchmark = "demo"\nsamples = 20\n'
    )
    orch = Orchestrator(load_config(write_config(tmp_path, speeds={"slow": 40}, plan=plan)))
    pids: list[int] = []

    def on_event(e: Event) -> None:
        if isinstance(e, RunProgress) and e.run_id == "s1-slow-400" and e.completed and not pids:
            pids.append(orch._executions[e.run_id].handle.pid)  # type: ignore[union-attr]
            orch.cancel(e.run_id)

    orch.bus.add_listener(on_event)
    try:
        outcome = await orch.run_plan()
    finally:
        await orch.close()
        for pid in pids:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert outcome.succeeded == ("s2-slow-20",)
    assert outcome.failed == ("s1-slow-400",)
    (why,) = [reason for run_id, reason in outcome.failures]
    assert why.startswith("cancel failed: run s1-slow-400 on node 'slow' did not stop")
    assert f"process group {pids[0]}" in why and "/runs/slow_" in why
    store = ResultsStore(tmp_path / "results")
    (rec,) = [r for r in store.runs() if r.summary.run_id == "s1-slow-400"]
    assert rec.summary.state == RunState.CANCEL_FAILED
    assert [e["run_id"] for e in store.unfinished()] == ["s1-slow-400"]
