"""docs/console.md covers every key: each action of the console's one list (footer, `?` help,
palette and bindings come from it) has its key in the first column of one of the guide's key
tables."""

from __future__ import annotations

from console.tui.actions import ACTIONS, key_label
from tests.support.paths import REPO_ROOT


def test_every_key_of_the_action_list_is_in_a_key_table_of_the_guide() -> None:
    guide = (REPO_ROOT / "docs" / "console.md").read_text()
    first_cells = [line.split("|")[1] for line in guide.splitlines() if line.startswith("| `")]
    missing = [
        a.key
        for a in ACTIONS
        if not any(f"`{a.key}`" in c or f"`{key_label(a.key)}`" in c for c in first_cells)
    ]
    assert not missing, f"keys not in a key table of docs/console.md: {missing}"
