"""Every message the console passes between its parts, in one place.

Engine events never reach widgets one by one: the bridge posts them in batches (`EngineBatch`)
so that sixteen busy runs cost a handful of messages a second, not hundreds.
"""

from __future__ import annotations

from textual.message import Message

from engine.events import Event


class EngineBatch(Message):
    """Engine events gathered over one flush interval, progress coalesced per run and log
    lines merged per run and stream (see `console.tui.bridge.EventCoalescer`)."""

    def __init__(self, events: tuple[Event, ...]) -> None:
        super().__init__()
        self.events = events


class SummaryText(Message):
    """A finished run's mlperf_log_summary.txt, read off the UI thread.

    `text` is None when the file could not be read; `reason` then says why."""

    def __init__(self, run_id: str, text: str | None, reason: str = "") -> None:
        super().__init__()
        self.run_id = run_id
        self.text = text
        self.reason = reason


class ActionFailed(Message):
    """An engine call started from a key or the palette failed; `message` is one sentence."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__()
        self.action = action
        self.message = message
