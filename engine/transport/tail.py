"""Resumable line tailing over any transport's `read_from`.

The offset only ever advances past complete lines, so after a reconnect the next read starts
exactly where the last delivered line ended: no line lost, none repeated.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.transport.base import Transport


@dataclass
class LineTail:
    """Follows one file. `offset` is the byte just after the last line returned by `poll`."""

    path: str
    offset: int = 0
    chunk: int = 1 << 20
    # The unterminated end of the file at the last poll (its last 4 KB), not delivered as a
    # line: a progress bar redrawn with carriage returns (tqdm) lives there for a long time.
    partial: str = ""

    async def poll(self, transport: Transport, *, final: bool = False) -> list[str]:
        """New complete lines since the last call. With `final`, a last unterminated line is
        returned too (the writer has exited). The offset moves only when the lines are
        returned: if a read fails halfway (a lost link), the next call reads them again."""
        lines: list[str] = []
        offset = self.offset
        partial = b""
        while True:
            data = await transport.read_from(self.path, offset, self.chunk)
            if not data:
                break
            cut = data.rfind(b"\n")
            if cut < 0:
                if len(data) < self.chunk:
                    if final:
                        lines.append(data.decode("utf-8", "replace"))
                        offset += len(data)
                    else:
                        partial = data
                    break
                # A single line longer than the chunk: deliver it in pieces.
                cut = len(data) - 1
            body = data[: cut + 1]
            offset += len(body)
            lines.extend(body.decode("utf-8", "replace").splitlines())
            if len(data) < self.chunk:
                rest = data[cut + 1 :]
                if rest and final:
                    lines.append(rest.decode("utf-8", "replace"))
                    offset += len(rest)
                elif rest:
                    partial = rest
                break
        self.offset = offset
        self.partial = partial[-4096:].decode("utf-8", "replace")
        return lines
