"""The console's actions, once: the main screen's and the log pane's key bindings, the `?`
help and the command palette are all generated from ACTIONS, and all call the same
`ConsoleApp.action_*` (or, for the log pane's own keys, `LogPane.action_*`) methods.
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
    action: str  # an `action_<name>` method of ConsoleApp, with its arguments if any
    label: str  # short, for the footer
    title: str  # for the palette and the help screen
    show: bool = True  # in the footer
    # "main": a key of the main screen, whatever has the focus (`ConsoleApp.action_<name>`);
    # "log": a key of the log pane while it has the focus (`LogPane.action_<name>`);
    # "table": a key of the runs table while it has the focus (`RunsTable.action_<name>`).
    scope: str = "main"
    # "log": a main key that acts on the log; the footer shows it while the log has the focus.
    panel: str | None = None


SCOPE_TITLES = {
    "main": "Keys",
    "table": "In the runs table (it has the focus at start; pgup pgdn, home end too)",
    "log": "In the log pane (tab to it, or z): these, and the log keys above",
}


def _log_key(key: str, what: str, label: str, title: str) -> ConsoleAction:
    """A main key that acts on the log pane (`ConsoleApp.action_log_view`): out of the main
    footer, in the footer while the log has the focus."""
    return ConsoleAction(key, f"log_view({what!r})", label, title, show=False, panel="log")


ACTIONS: tuple[ConsoleAction, ...] = (
    ConsoleAction("s", "start_plan", "Start", "Start the plan (every stage of the config)"),
    # ctrl+g, not g: vim and k9s users press g (gg) for the top row, and a stage must never
    # start from a key pressed out of habit.
    ConsoleAction(
        "ctrl+g",
        "start_group",
        "Group",
        "Start the selected group's stage (asks first)",
        show=False,
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
    # k9s's shift+letter sorts by a column; the same key again reverses.
    ConsoleAction("N", "sort('run')", "Sort", "Sort the runs by name (again: reverse)", show=False),
    ConsoleAction(
        "S", "sort('state')", "Sort", "Sort the runs by state, trouble first", show=False
    ),
    ConsoleAction(
        "O", "sort('node')", "Sort", "Sort the runs by node (again: reverse)", show=False
    ),
    ConsoleAction(
        "M",
        "sort('metric')",
        "Sort",
        "Sort the runs by LoadGen metric, highest first",
        show=False,
    ),
    ConsoleAction("enter", "details", "Details", "Open the selected run's details", show=False),
    ConsoleAction(
        "a", "attach", "Attach", "Re-attach to runs an earlier console left running", show=False
    ),
    ConsoleAction("f", "toggle_follow", "Follow", "Follow the log's end, or pause it", panel="log"),
    _log_key("w", "wrap", "Wrap", "Log: wrap long lines, or cut them"),
    _log_key("2", "stderr", "stderr", "Log: stderr lines only (fd 2), or all"),
    _log_key("z", "zoom", "Zoom", "Log: full screen, or back to the panels"),
    _log_key("m", "merged", "Merged", "Log: every live run and service, a node prefix per line"),
    _log_key("F", "follow_live", "Live", "Log: follow whatever is live (when one run ends)"),
    _log_key("o", "pager", "Pager", "Log: open the run's stdout.log in $PAGER"),
    ConsoleAction(  # not in the log's footer: `/` is there
        "ctrl+f",
        "log_view('search')",
        "Search",
        "Log: search it (as / does in the log)",
        show=False,
    ),
    ConsoleAction(
        "d",
        "toggle_dense_nodes",
        "Dense",
        "Nodes: one line per node and per GPU over the screen (fleet size), or back",
        show=False,
    ),
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
    # The runs table's own keys (vim habits), active while it has the focus.
    ConsoleAction("j", "cursor_down", "Down", "Next row", scope="table", show=False),
    ConsoleAction("k", "cursor_up", "Up", "Previous row", scope="table", show=False),
    ConsoleAction("g", "scroll_top", "Top", "First row (vim's gg)", scope="table", show=False),
    ConsoleAction("G", "scroll_bottom", "Last", "Last row", scope="table", show=False),
    ConsoleAction(
        "ctrl+d", "half_page(1)", "½ down", "Half a page down", scope="table", show=False
    ),
    ConsoleAction("ctrl+u", "half_page(-1)", "½ up", "Half a page up", scope="table", show=False),
    # The log pane's own keys (less and vim habits), active while it has the focus.
    ConsoleAction("slash", "search", "Search", "Search the log (smartcase)", scope="log"),
    ConsoleAction("n", "next_match", "Next", "Next match (down, wraps around)", scope="log"),
    ConsoleAction("N", "previous_match", "Prev", "Previous match (up)", scope="log"),
    ConsoleAction(
        "G", "log_end", "End", "To the end of the log, following it", scope="log", show=False
    ),
    ConsoleAction("escape", "clear_search", "Clear", "Clear the search", scope="log", show=False),
)


_DISPLAY = {"question_mark": "?", "enter": "⏎", "slash": "/", "escape": "esc"}


def key_label(key: str) -> str:
    """How a key is written for people (`?`, `/`, `⏎`)."""
    return _DISPLAY.get(key, key)


def _binding(a: ConsoleAction, *, show: bool) -> Binding:
    return Binding(
        a.key,
        f"app.{a.action}" if a.scope == "main" else a.action,
        a.label,
        show=show,
        key_display=_DISPLAY.get(a.key),
        tooltip=a.title,
        id=a.action,
    )


def main_bindings() -> list[Binding]:
    return [_binding(a, show=a.show) for a in ACTIONS if a.scope == "main"]


def log_bindings() -> list[Binding]:
    """The log pane's own keys, and the main keys that act on the log (shown in the footer
    while the log has the focus)."""
    own = [_binding(a, show=a.show) for a in ACTIONS if a.scope == "log"]
    return own + [_binding(a, show=True) for a in ACTIONS if a.panel == "log"]


def table_bindings() -> list[Binding]:
    """The runs table's own keys (RunsTable.BINDINGS)."""
    return [_binding(a, show=a.show) for a in ACTIONS if a.scope == "table"]


def help_sections() -> list[tuple[str, list[Binding]]]:
    """What `?` lists: every action, by where its key works."""
    return [
        (title, [_binding(a, show=a.show) for a in ACTIONS if a.scope == scope])
        for scope, title in SCOPE_TITLES.items()
    ]


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
            if a.action != "details" and a.scope == "main"
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
