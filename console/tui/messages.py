"""Every message the console passes between its parts, in one place.

Engine events never reach widgets one by one: the bridge posts them in batches (`EngineBatch`)
so that sixteen busy runs cost a handful of messages a second, not hundreds. The app tells
the main screen what changed with messages too (`StateChanged`, `LogSummary`, ...), and the
screen asks the app for actions with its own messages (`MainScreen.DetailsRequested`): no part
sets another's attributes or calls its actions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from engine.events import Event

if TYPE_CHECKING:
    from console.tui.rows import Changes


class EngineBatch(Message):
    """Engine events gathered over one flush interval, progress coalesced per run and log
    lines merged per run and stream (see `console.tui.bridge.EventCoalescer`)."""

    def __init__(self, events: tuple[Event, ...]) -> None:
        super().__init__()
        self.events = events


class LoadgenSummaryText(Message):
    """A finished run's mlperf_log_summary.txt, read off the UI thread.

    `text` is None when the file could not be read; `reason` then says why."""

    def __init__(self, run_id: str, text: str | None, reason: str = "") -> None:
        super().__init__()
        self.run_id = run_id
        self.text = text
        self.reason = reason


class ActionFailed(Message):
    """An engine call or a background read failed; `message` is one sentence."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__()
        self.action = action
        self.message = message


# --- app -> main screen --------------------------------------------------------------------


class StateChanged(Message):
    """The console state changed by `changes`: the screen repaints what it shows, now if it
    is on display, else when it is back."""

    def __init__(self, changes: Changes) -> None:
        super().__init__()
        self.changes = changes


class RepaintAll(Message):
    """Repaint everything from the state (a new config, a test that fed recorded events)."""


class LogSummary(Message):
    """A finished run's summary text for the log pane, below the run's output."""

    def __init__(self, run_id: str, title: str, text: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.title = title
        self.text = text


class ToggleSide(Message):
    """Show the charts instead of the nodes (or back), for narrow screens."""


class ToggleDenseNodes(Message):
    """`d`: the nodes' dense view (a line per node and per GPU) over the whole screen, or back."""


class OpenFilter(Message):
    """`/`: open the runs table's filter line; typing goes there, never to the keys."""


class ToggleFollow(Message):
    """`f`: the log pane follows the end of the log, or pauses."""


class LogCommand(Message):
    """A key that acts on the log pane (`console.tui.actions`, panel "log"): `what` is one of
    wrap, stderr, zoom, merged, follow_live, pager, search."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what


class SortRuns(Message):
    """N S O M: sort the runs table by `column` (a key of row_filter.SORT_COLUMNS); the same
    column again reverses."""

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column
