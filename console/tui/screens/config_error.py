"""A config that cannot be loaded is shown as a readable screen, not a traceback: the
sentence, where (file, line, key) and what would have been accepted."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from engine.errors import ConfigError


def error_text(err: ConfigError) -> str:
    lines = [err.detail]
    if err.file:
        lines.append(f"file:     {err.file}" + (f" (line {err.line})" if err.line else ""))
    if err.key:
        lines.append(f"key:      {err.key}")
    if err.expected:
        lines.append(f"expected: {err.expected}")
    lines += [
        "",
        "Fix the file and start mlconsole again; `mlconsole init` writes a commented "
        "starter config, docs/config-reference.md describes every key.",
    ]
    return "\n".join(lines)


class ConfigErrorScreen(Screen[None]):
    BINDINGS = [Binding("q,escape,enter", "app.quit", "Quit", show=True)]

    def __init__(self, err: ConfigError) -> None:
        super().__init__()
        self.err = err

    def compose(self) -> ComposeResult:
        with Vertical(id="config-error"):
            yield Static("The config could not be loaded", id="config-error-title")
            yield Static(error_text(self.err), id="config-error-text", markup=False)
        yield Footer()
