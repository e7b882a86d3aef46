"""Checks on the names and paths the SSH transport builds node-side paths from.

Every value that reaches a remote shell is `shlex.quote`d, so a hostile name cannot run
anything; these checks make sure it cannot *point* anywhere unexpected either: a run id or a
file name is one plain path component, and a run dir has no `..` that would climb out of the
node's work dir.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from engine.errors import LaunchRefused
from engine.transport.base import FetchTally

_FORBIDDEN_CHARS = frozenset("/\\\0\n\r")


def check_safe_component(name: str, *, what: str = "name") -> None:
    """Raise LaunchRefused unless `name` is one ordinary path component.

    Refused: empty, `.` and `..`, anything with a slash, backslash, NUL or newline, and a
    leading `-` (it would read as an option to the commands that receive it).
    """
    if not name or name in (".", ".."):
        raise LaunchRefused(f"the {what} {name!r} is not a usable file name")
    bad = sorted(set(name) & _FORBIDDEN_CHARS)
    if bad:
        raise LaunchRefused(
            f"the {what} {name!r} contains {', '.join(repr(c) for c in bad)}; use a plain file name"
        )
    if name.startswith("-"):
        raise LaunchRefused(f"the {what} {name!r} starts with '-'; use a plain file name")


def check_node_path(path: str, *, what: str = "path") -> None:
    """Raise LaunchRefused if `path` could leave the directory it names.

    Absolute and relative paths are both accepted (relative ones are under the node's $HOME);
    refused are `..` components, NUL and newlines.
    """
    if not path:
        raise LaunchRefused(f"the {what} is empty")
    if "\0" in path or "\n" in path or "\r" in path:
        raise LaunchRefused(f"the {what} {path!r} contains a NUL or newline")
    if ".." in path.split("/"):
        raise LaunchRefused(f"the {what} {path!r} contains '..'; give it without climbing up")


def fetchable(names: Sequence[str], tally: FetchTally) -> Iterator[str]:
    """The names an SSH fetch may copy; each one that is not a plain file name is counted
    missing in `tally` and never reaches the node."""
    for name in names:
        try:
            check_safe_component(name, what="file name")
        except LaunchRefused:
            tally.miss(name)
            continue
        yield name
