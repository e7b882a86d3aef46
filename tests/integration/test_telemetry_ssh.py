"""Telemetry of an SSH node over a real OpenSSH server on loopback (tests/support/sshd.py).

No GPU exists here: the node's PATH starts with tests/support/doubles/nvidia-smi, a TEST DOUBLE that
prints made-up numbers in nvidia-smi's format and loops like `-lms N`. Everything else is
real: sshd, the SSH transport, the stream, the dropped connection, the files written.

Story: a run's telemetry streams two GPUs from the node; the link is killed under it; batches
say 'stale' until the transport reconnects, then the stream restarts on its own; the run's
telemetry.csv holds every reading and the summary says the link was lost once. Nodes without
a driver or without nvidia-smi give one batch saying so and nothing else.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.telemetry import RunTelemetry, TelemetryBatch, read_state, read_telemetry, sample_node
from engine.transport.ssh import SshTransport
from tests.support.paths import DOUBLES_DIR
from tests.support.processes import command_lines

pytestmark = [pytest.mark.ssh, pytest.mark.timeout(90)]


def double_bin(tmp_path: Path) -> Path:
    """A PATH dir of this test's own holding the nvidia-smi TEST DOUBLE, so the node-side
    processes of this test can be told from anyone else's."""
    d = tmp_path / "bin"
    d.mkdir()
    (d / "nvidia-smi").symlink_to(DOUBLES_DIR / "nvidia-smi")
    return d


def streams_running(marker: Path) -> list[int]:
    needle = str(marker).encode()
    return [pid for pid, cmd in command_lines().items() if needle in cmd and b"-lms" in cmd]


async def wait_for(predicate, timeout: float = 20.0) -> None:  # noqa: ANN001
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


async def test_stream_survives_a_killed_link_and_the_run_records_it(
    sshd, ssh_node, tmp_path: Path
) -> None:
    bindir = double_bin(tmp_path)
    node = ssh_node("gpu-a", env={"PATH": f"{bindir}:/usr/bin:/bin"})
    transport = SshTransport(node)
    await transport.connect()
    run_dir = tmp_path / "results" / "gpu-a_run"
    seen: list[TelemetryBatch] = []
    handle = await RunTelemetry.start(transport, node, run_dir, 0.1, seen.append)
    try:
        await wait_for(lambda: sum(b.state == "ok" for b in seen) >= 3)
        first_port = transport.local_port
        assert sshd.kill_connections(first_port) >= 1
        await wait_for(lambda: any(b.state == "stale" for b in seen))
        after = len(seen)
        await wait_for(lambda: sum(b.state == "ok" for b in seen[after:]) >= 3)
        assert transport.connected and transport.local_port != first_port
    finally:
        summary = await handle.stop()

    states = [b.state for b in seen]
    first_stale = states.index("stale")
    assert set(states[:first_stale]) == {"ok"}
    assert "link lost" in seen[first_stale].detail
    assert states[-1] == "ok" and set(states) == {"ok", "stale"}
    for i, b in enumerate(seen):
        if b.state != "ok":
            assert b.samples == ()
            continue
        gpus = [s.gpu for s in b.samples]
        cut = i + 1 < len(seen) and seen[i + 1].state == "stale"  # a tick the kill cut short
        assert gpus == [0, 1] or (cut and gpus == [0])
        assert b.detail == "" and b.samples[0].utilization_pct is not None
        if len(gpus) == 2:
            assert b.samples[1].utilization_pct is None  # the double's GPU 1 prints [N/A]

    recorded = read_telemetry(run_dir / "telemetry.csv")
    assert recorded == [s for b in seen for s in b.samples]
    assert summary["state"] == "ok" and summary["samples"] == len(recorded) >= 12
    assert "link lost 1 time(s)" in summary["detail"]
    g0, g1 = summary["gpus"]
    assert (g0["node"], g0["gpu"], g1["gpu"]) == ("gpu-a", 0, 1)
    assert g0["util_samples"] == g0["samples"] and 0 <= g0["util_mean"] <= 100
    assert (g1["util_samples"], g1["util_p95"]) == (0, None)
    state = read_state(run_dir)
    assert state is not None and (state["state"], state["samples"]) == ("ok", len(recorded))

    # Nothing keeps streaming on the node once the run's telemetry stopped.
    await wait_for(lambda: not streams_running(bindir), timeout=10)
    assert (await transport.run(["true"])).exit_status == 0
    await transport.close()


@pytest.mark.parametrize(
    ("env", "state", "detail"),
    [
        ({"NVSMI_DOUBLE_MODE": "no-driver"}, "no-driver", "NVIDIA-SMI has failed"),
        ({}, "no-nvidia-smi", "nvidia-smi"),
    ],
)
async def test_node_without_driver_or_nvidia_smi_gives_one_batch(
    ssh_node, tmp_path: Path, env: dict[str, str], state: str, detail: str
) -> None:
    path = f"{double_bin(tmp_path)}:/usr/bin:/bin" if env else "/usr/bin:/bin"
    node = ssh_node("gpu-b", env={"PATH": path, **env})
    transport = SshTransport(node)
    await transport.connect()
    got = []
    async with asyncio.timeout(20):
        async for batch in sample_node(transport, node, 0.1):
            got.append(batch)
    assert [(b.node, b.state, b.samples) for b in got] == [("gpu-b", state, ())]
    assert detail in got[0].detail

    run_dir = tmp_path / "run"
    handle = await RunTelemetry.start(transport, node, run_dir, 0.1)
    # Wait for the node's one batch (a fixed sleep was too short on a loaded machine).
    await wait_for(lambda: handle.batches >= 1)
    summary = await handle.stop()
    assert (summary["state"], summary["samples"], summary["gpus"]) == (state, 0, [])
    assert read_telemetry(run_dir / "telemetry.csv") == []
    assert (read_state(run_dir) or {}).get("state") == state
    await transport.close()
