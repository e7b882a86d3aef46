"""Resumable tailing: a link that drops halfway through a backlog loses no line and repeats
none. The drop is injected around the real LocalTransport (a real SSH drop is covered in
tests/integration/test_ssh_transport.py; this one pins the exact moment: between two chunk
reads)."""

from __future__ import annotations

from pathlib import Path

from engine.errors import LinkLost
from engine.model import NodeSpec
from engine.transport.local import LocalTransport
from engine.transport.tail import LineTail


class DropsOnce(LocalTransport):
    """The real local transport, whose link drops on the second read."""

    reads = 0

    async def read_from(self, path: str, offset: int, max_bytes: int = 1 << 20) -> bytes:
        self.reads += 1
        if self.reads == 2:
            raise LinkLost(self.node.name, "injected drop")
        return await super().read_from(path, offset, max_bytes)


async def test_a_drop_between_chunks_loses_and_repeats_nothing(tmp_path: Path) -> None:
    log = tmp_path / "stdout.log"
    expected = [f"line {i:05d} " + "x" * 50 for i in range(3000)]
    log.write_text("\n".join(expected) + "\n")
    tail = LineTail(str(log), chunk=4096)
    transport = DropsOnce(NodeSpec("n"))
    got: list[str] = []
    try:
        got += await tail.poll(transport)
    except LinkLost:
        pass
    assert tail.offset == 0  # nothing was handed out, so nothing is skipped
    got += await tail.poll(transport)
    got += await tail.poll(transport, final=True)
    assert got == expected
    assert tail.offset == log.stat().st_size


async def test_a_partial_last_line_waits_until_final(tmp_path: Path) -> None:
    log = tmp_path / "out.log"
    log.write_text("one\ntw")
    tail = LineTail(str(log))
    transport = LocalTransport(NodeSpec("n"))
    assert await tail.poll(transport) == ["one"]
    with open(log, "a") as f:
        f.write("o\nthr")
    assert await tail.poll(transport) == ["two"]
    assert await tail.poll(transport, final=True) == ["thr"]
    assert await tail.poll(transport, final=True) == []
