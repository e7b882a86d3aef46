"""Engine events -> batched Textual messages.

The bridge is a listener on the engine's EventBus. The orchestrator runs on the app's own
event loop, so `publish` calls the listener there; all the listener does is append the event
to an `EventCoalescer` and, if no flush is pending, schedule one `interval_s` later. The flush
posts one `EngineBatch` message. So the engine never waits on the UI, sixteen busy runs cost
about ten messages a second, and an idle console wakes no one.

Why a listener and not an async subscription: a subscription only starts when its generator
first runs, so events published between mounting the app and the worker's first step would be
lost; `add_listener` is in place the moment the bridge is attached (the bus offers only that).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable

from textual.message import Message

from console.tui.messages import EngineBatch
from engine.events import Event, EventBus, RunLog, RunProgress

FLUSH_INTERVAL_S = 0.1
MAX_LINES_PER_FLUSH = 2000  # per run and stream; the full logs are in the run dir


class EventCoalescer:
    """Gathers events between flushes.

    Order is kept, except that a run's progress keeps only its latest value (at the place of
    the first one) and a run's log lines of one stream are merged into one RunLog (at the place
    of the first chunk). A burst of more than `max_lines` lines keeps the newest ones and says
    how many were skipped.
    """

    def __init__(self, max_lines: int = MAX_LINES_PER_FLUSH) -> None:
        self.max_lines = max_lines
        self._events: list[Event | None] = []
        self._progress: dict[str, int] = {}
        self._logs: dict[tuple[str, str], tuple[int, deque[str]]] = {}
        self._skipped: dict[tuple[str, str], int] = {}

    def __len__(self) -> int:
        return len(self._events)

    def add(self, ev: Event) -> None:
        if isinstance(ev, RunProgress):
            at = self._progress.get(ev.run_id)
            if at is not None:
                self._events[at] = ev
                return
            self._progress[ev.run_id] = len(self._events)
        elif isinstance(ev, RunLog):
            key = (ev.run_id, ev.stream)
            if key not in self._logs:
                self._logs[key] = (len(self._events), deque(maxlen=self.max_lines))
                self._events.append(None)  # the merged RunLog goes here in drain()
            buf = self._logs[key][1]
            overflow = len(buf) + len(ev.lines) - self.max_lines
            if overflow > 0:
                self._skipped[key] = self._skipped.get(key, 0) + overflow
            buf.extend(ev.lines)
            return
        self._events.append(ev)

    def drain(self) -> tuple[Event, ...]:
        """The gathered events, coalesced; the coalescer is empty afterwards."""
        for (run_id, stream), (at, buf) in self._logs.items():
            lines = tuple(buf)
            skipped = self._skipped.get((run_id, stream))
            if skipped:
                note = f"… {skipped} {stream} lines skipped in a burst ({stream}.log has them all)"
                lines = (note, *lines)
            self._events[at] = RunLog(run_id, stream, lines)
        out = tuple(e for e in self._events if e is not None)
        self._events, self._progress, self._logs, self._skipped = [], {}, {}, {}
        return out


class EventBridge:
    """Listens on `bus` and posts `EngineBatch` messages through `post` (a message pump's
    post_message). `attach()` must be called on the loop that will run the flushes."""

    def __init__(
        self,
        bus: EventBus,
        post: Callable[[Message], object],
        interval_s: float = FLUSH_INTERVAL_S,
    ) -> None:
        self.bus = bus
        self.post = post
        self.interval_s = interval_s
        self._pending = EventCoalescer()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._detach: Callable[[], None] | None = None

    def attach(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._detach = self.bus.add_listener(self._on_event)

    def detach(self) -> None:
        if self._detach is not None:
            self._detach()
            self._detach = None
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None

    def _on_event(self, ev: Event) -> None:
        if threading.get_ident() != self._thread and self._loop is not None:
            # Published from a worker thread: hand it to the loop, never touch state here.
            self._loop.call_soon_threadsafe(self._add, ev)
        else:
            self._add(ev)

    def _add(self, ev: Event) -> None:
        self._pending.add(ev)
        if self._flush_handle is None and self._loop is not None:
            self._flush_handle = self._loop.call_later(self.interval_s, self.flush)

    def flush(self) -> None:
        """Post what has gathered now (the timer calls this; tests may too)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if len(self._pending):
            self.post(EngineBatch(self._pending.drain()))
