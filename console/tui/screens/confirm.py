"""A yes/no (or more) question in a modal: cancelling a run, quitting with runs live."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[str | None]):
    """Dismisses with the id of the chosen button, or None on escape.

    `choices` are (id, label, variant) in display order; the first one has the focus, so make
    it the safe one when the question is about something destructive.
    """

    BINDINGS = [Binding("escape", "dismiss_none", "Back", show=True)]

    def __init__(self, title: str, message: str, choices: Sequence[tuple[str, str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.message = message
        self.choices = tuple(choices)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.title_text, id="dialog-title", markup=False)
            yield Static(self.message, id="dialog-message", markup=False)
            with Horizontal(id="dialog-buttons"):
                for ident, label, variant in self.choices:
                    yield Button(label, id=ident, variant=variant)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self.query_one(f"#{self.choices[0][0]}", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
