"""A run's live progress, folded from what the runner tails: LoadGen's trace, detail and
accuracy logs, and the harness's own progress lines on stdout and/or stderr.

The figures (rate, ETA) are engine.figures'; this only decides which source counts."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from engine import figures
from engine.events import RunProgress
from engine.model import RunSpec

# A live rate is said only over at least this long a window and over RATE_WINDOW_POLLS poll
# intervals): a line is read up to one poll after it was written, so over a short window the
# poll's timing, not the node, makes the figure (72 samples/s for a node at 42).
MIN_RATE_WINDOW_S = 1.0
RATE_WINDOW_POLLS = 4
# Which of the harness's streams a benchmark's progress_stream names.
STREAMS = {"stdout": ("stdout",), "stderr": ("stderr",), "both": ("stdout", "stderr")}


@dataclass
class LiveProgress:
    """Live progress from LoadGen's own files, else the harness's progress lines.

    The total is LoadGen's (its detail log), else what the settings probe found before
    launch, else the harness's own line, else the requested count."""

    spec: RunSpec
    pattern: re.Pattern[str] | None
    streams: tuple[str, ...] = ("stdout",)
    expected: int | None = None  # what the settings probe says LoadGen will issue
    trace: Any = None
    detail: Any = None
    accuracy: Any = None
    line_completed: int | None = None
    line_total: int | None = None
    line_stream: str = "stdout"
    first: tuple[float, int] | None = None
    last_poll: float | None = None  # when the previous event() looked
    poll_s: float = 0.5
    last_emitted: tuple[int, int | None] | None = None
    last_change: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        from engine.loadgen.progress import AccuracyProgress, DetailProgress, TraceProgress

        self.trace = TraceProgress()
        self.detail = DetailProgress()
        self.accuracy = AccuracyProgress()

    def harness_line(self, stream: str, line: str) -> None:
        """A line (or the unterminated end) of the harness's stdout or stderr."""
        if self.pattern is None or stream not in self.streams:
            return
        from engine.loadgen.progress import progress_from_stdout

        got = progress_from_stdout(self.pattern, line)
        if got is not None and got[0] != self.line_completed:
            self.line_completed, total = got
            self.line_stream = stream
            if total is not None:
                self.line_total = total

    def current(self) -> tuple[int, int | None, str]:
        total = self.detail.total or self.expected or self.line_total or self.spec.samples
        if self.trace.completed:
            return self.trace.completed, total, "trace"
        if self.accuracy.completed:
            return self.accuracy.completed, total, "accuracy-log"
        if self.line_completed is not None:
            return self.line_completed, total, self.line_stream
        return 0, total, "detail-log" if self.detail.total else "none"

    def event(self, run_id: str, now: float) -> RunProgress | None:
        """What changed since the previous poll (None: nothing). A change is dated halfway
        between the previous poll and this one (it happened somewhere in between), and the
        rate is samples per second between the first dated change and this one."""
        completed, total, source = self.current()
        seen_at = now if self.last_poll is None else (self.last_poll + now) / 2
        self.last_poll = now
        if completed > 0 and self.first is None:
            self.first = (seen_at, completed)
        if self.last_emitted == (completed, total):
            return None
        if self.last_emitted is None or completed != self.last_emitted[0]:
            self.last_change = now
        self.last_emitted = (completed, total)
        rate = None
        window = max(MIN_RATE_WINDOW_S, RATE_WINDOW_POLLS * self.poll_s)
        if self.first is not None:
            first_at, first_completed = self.first
            if completed > first_completed and seen_at - first_at >= window:
                rate = (completed - first_completed) / (seen_at - first_at)
        return RunProgress(
            run_id, completed, total, figures.eta_seconds(completed, total, rate), rate, source
        )
