"""docs/console.md covers every key: each action of the console's one list (footer, `?` help,
palette and bindings come from it) has its key in the guide's key tables."""

from __future__ import annotations

from console.tui.actions import ACTIONS, key_label
from tests.support.paths import REPO_ROOT


def test_every_key_of_the_action_list_is_in_the_guide() -> None:
    guide = (REPO_ROOT / "docs" / "console.md").read_text()
    missing = [
        a.key
        for a in ACTIONS
        if f"`{a.key}`" not in guide and f"`{key_label(a.key)}`" not in guide
    ]
    assert not missing, f"keys not in docs/console.md: {missing}"
