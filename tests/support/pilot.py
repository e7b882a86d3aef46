"""Helpers for tests that drive the console with Textual's pilot."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


async def wait_for(pilot: Any, predicate: Callable[[], object], timeout: float = 20.0) -> None:
    """Let the app run until `predicate()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        await pilot.pause(0.05)


def notifications(app: Any) -> list[str]:
    """The messages of the app's notifications (toasts) so far."""
    return [n.message for n in app._notifications]


def painted_rows(widget: Any) -> list[str]:
    """The text of each row a line-rendering widget (a ScrollView: the log) paints now."""
    return [
        "".join(segment.text for segment in widget.render_line(y)).rstrip()
        for y in range(widget.size.height)
    ]
