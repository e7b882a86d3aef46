"""The console's actions, once: the main screen's key bindings, the `?` help and the command
palette are all generated from ACTIONS, and all call the same `ConsoleApp.action_*` methods.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from console.tui.app import ConsoleApp


@dataclass(frozen=True)
class ConsoleAction:
    key: str
    action: str  # an `action_<name>` method of ConsoleApp
    label: str  # short, for the footer
    title: str  # for the palette and the help screen
    show: bool = True  # in the footer


ACTIONS: tuple[ConsoleAction, ...] = (
    ConsoleAction("s", "start_plan", "Start", "Start the plan (every stage of the config)"),
    ConsoleAction(
        "g", "start_group", "Group", "Start the selected group's stage (asks first)", show=False
    ),
    ConsoleAction(
        "slash", "filter", "Filter", "Filter the runs: text, state:WORD, node:NAME (esc clears)"
    ),
    ConsoleAction("c", "cancel_run", "Cancel", "Cancel the selected run (asks first)"),
    ConsoleAction("r", "rerun", "Re-run", "Re-run the selected run in a new run dir"),
    ConsoleAction(
        "p", "preflight", "Preflight", "Preflight every node (SSH, Python, LoadGen, GPUs)"
    ),
    ConsoleAction("e", "export", "Export", "Export the report: charts and markdown"),
    ConsoleAction(
        "H",
        "history",
        "History",
        "Every recorded run across days, regressions flagged (mlconsole history)",
    ),
    ConsoleAction("enter", "details", "Details", "Open the selected run's details", show=False),
    ConsoleAction(
        "a", "attach", "Attach", "Re-attach to runs an earlier console left running", show=False
    ),
    ConsoleAction("f", "toggle_follow", "Follow", "Follow the log's end, or pause it"),
    ConsoleAction(
        "v",
        "toggle_side",
        "Nodes/chart",
        "Show the charts or the nodes (narrow screens)",
        show=False,
    ),
    ConsoleAction("t", "toggle_theme", "Theme", "Switch between the dark and light themes"),
    ConsoleAction("question_mark", "help", "Help", "Show the keys and how quitting works"),
    ConsoleAction("q", "quit_console", "Quit", "Quit (asks when runs are live; they keep going)"),
)


_DISPLAY = {"question_mark": "?", "enter": "⏎", "slash": "/"}


def key_label(key: str) -> str:
    """How a key is written for people (`?`, `/`, `⏎`)."""
    return _DISPLAY.get(key, key)


def main_bindings() -> list[Binding]:
    out = []
    for a in ACTIONS:
        display = _DISPLAY.get(a.key)
        out.append(
            Binding(
                a.key,
                f"app.{a.action}",
                a.label,
                show=a.show,
                key_display=display,
                tooltip=a.title,
                id=a.action,
            )
        )
    return out


class ConsoleCommands(Provider):
    """Palette entries for ACTIONS, plus one "Start group NAME" per group of the plan."""

    @property
    def console(self) -> ConsoleApp:
        return self.app  # type: ignore[return-value]

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = self.console
        out: list[tuple[str, str, Callable[[], object]]] = [
            (
                a.title,
                f"key: {key_label(a.key)}",
                partial(app.run_action, a.action),
            )
            for a in ACTIONS
            if a.action != "details"
        ]
        for name in app.group_stage_names():
            out.append(
                (
                    f"Start group {name}",
                    "runs this group's stage only",
                    partial(app.start_stages, [name]),
                )
            )
        return out

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
