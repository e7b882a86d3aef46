"""Typed errors. Each carries one sentence a user can act on; `console.cli` prints it."""

from __future__ import annotations


class MlconsoleError(Exception):
    """Base class: `str(err)` is the user-facing sentence."""

    exit_code = 1


class ConfigError(MlconsoleError):
    """A config file is missing, unreadable or invalid.

    `file` and `key` say where; `expected` says what would have been accepted.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        key: str | None = None,
        expected: str | None = None,
        line: int | None = None,
    ) -> None:
        self.file = file
        self.key = key
        self.expected = expected
        self.line = line
        self.detail = message
        where = file or "<config>"
        if line is not None:
            where += f":{line}"
        if key:
            where += f": {key}"
        text = f"{where}: {message}"
        if expected:
            text += f" (expected {expected})"
        super().__init__(text)


class UsageError(MlconsoleError):
    """Bad command-line arguments or a path that does not exist."""

    exit_code = 2


class NodeUnreachable(MlconsoleError):
    """A node could not be reached or logged into."""

    def __init__(self, node: str, reason: str) -> None:
        self.node = node
        self.reason = reason
        super().__init__(f"node {node!r} is unreachable: {reason}")


class HostKeyError(NodeUnreachable):
    """The node's host key is unknown or changed; the message says how to trust it."""


class LaunchRefused(MlconsoleError):
    """A pre-launch check failed (stray audit.config, bad user.conf, unsafe path)."""


class TransportError(MlconsoleError):
    """An operation on a node failed after the node was reached."""


class LinkLost(TransportError):
    """The connection to a node dropped. Detached runs keep going on the node; the caller
    reconnects (with backoff) and resumes tails from their offsets."""

    def __init__(self, node: str, reason: str) -> None:
        self.node = node
        self.reason = reason
        super().__init__(f"link to node {node!r} lost: {reason}")
