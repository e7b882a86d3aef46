"""`o`: a run's whole log file in the user's pager, the terminal handed over while it runs.

The pane keeps the last 2000 lines; the run dir keeps everything. `$PAGER` (as git and man read
it: a command line, split as a shell would) or `less -R`; the app is suspended
(`App.suspend()`) and comes back when the pager exits.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from textual.app import App, SuspendNotSupported

DEFAULT_PAGER = "less -R"


def pager_command(environ: Mapping[str, str]) -> list[str]:
    """The pager's argv without the file: `$PAGER` split as a shell would, else less -R."""
    try:
        return shlex.split(environ.get("PAGER", "").strip() or DEFAULT_PAGER)
    except ValueError:  # an unbalanced quote: no command at all
        return []


def open_in_pager(app: App[object], path: Path, environ: Mapping[str, str] = os.environ) -> str:
    """Show `path` in the pager and come back; returns "" when it ran, else the sentence to
    show (no such file, no pager, a terminal that cannot be handed over)."""
    if not path.is_file():
        return f"no {path.name} here yet: {path} (a run's files are fetched when it ends)"
    argv = pager_command(environ)
    if not argv or shutil.which(argv[0]) is None:
        named = environ.get("PAGER") or DEFAULT_PAGER
        return f"no pager: {named!r} is not installed (set PAGER); the log is {path}"
    try:
        with app.suspend():
            subprocess.run([*argv, str(path)], check=False)
    except SuspendNotSupported:
        return f"this terminal cannot be handed to a pager; the log is {path}"
    except OSError as err:
        return f"the pager {argv[0]} did not start ({err.strerror}); the log is {path}"
    return ""
