"""`?`: every key of the main screen and of the log pane, generated from the action list's
bindings (so it cannot drift), and what the console does with runs on SSH nodes when it
quits."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

ABOUT = (
    "The console is a view over the engine: every throughput, ETA and validity it shows was "
    "computed by the engine and recorded in the run's summary.\n\n"
    "Runs are started detached on their nodes. Quitting while runs are live asks first; "
    "the runs keep going on their nodes (SSH or local), and `mlconsole attach CONFIG` (or `a` "
    "in a new console) follows them again to their end and collects their results.\n\n"
    "Command palette: ctrl+p offers the same actions by name, plus one entry per group and "
    "per theme.\n\n"
    "Themes: dark and light (themes/*.tcss); `--theme NAME` or settings.theme picks one at "
    "start, `t` switches. Any Textual theme name works too (ansi-dark suits 16-color "
    "terminals)."
)


NAVIGATION = (
    "  ↑ ↓  j k     move the cursor (the log follows the cursor's run)\n"
    "  pgup pgdn    a page up or down (ctrl+d ctrl+u: half a page)\n"
    "  g G          first or last row\n"
    "  ← →          scroll the table's columns (the Run column stays); home end: all the way\n"
    "  tab          next panel (runs, nodes, log); shift+tab back\n"
    "  in the log   ↑ ↓ j k, pgup pgdn, home g, end G, ← → (lines cut, not wrapped)\n"
    "  esc          clear the runs filter; close a dialog or this help"
)


def key_table(sections: list[tuple[str, list[Binding]]]) -> str:
    """One block per section: its title, then a key and what it does per line."""
    blocks = []
    for title, bindings in sections:
        rows = _key_rows(bindings)
        if rows:
            blocks.append(f"{title}\n" + "\n".join(rows))
    return "\n\n".join(blocks)


def _key_rows(bindings: list[Binding]) -> list[str]:
    rows = []
    for b in bindings:
        if not b.description:
            continue
        keys = ", ".join(b.key_display or k for k in b.key.split(","))
        rows.append(f"  {keys:<12} {b.tooltip or b.description}")
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close", show=True),
    ]

    def __init__(self, sections: list[tuple[str, list[Binding]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static("mlconsole — keys", id="help-title")
            yield Static(key_table(self.sections), id="help-keys", markup=False)
            yield Static(NAVIGATION, id="help-navigation", markup=False)
            yield Static(ABOUT, id="help-about", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
