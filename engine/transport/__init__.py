"""Node transports. The orchestrator speaks only the `Transport` protocol in `base`."""

from __future__ import annotations

from engine.model import NodeSpec
from engine.transport.base import Transport


def open_transport(node: NodeSpec) -> Transport:
    """The transport for a node, not yet connected. Imports asyncssh only for SSH nodes
    (and Slurm nodes reached through a login host)."""
    if node.transport == "local":
        from engine.transport.local import LocalTransport

        return LocalTransport(node)
    if node.transport == "ssh":
        from engine.transport.ssh import SshTransport

        return SshTransport(node)
    if node.transport == "slurm":
        from engine.transport.slurm import SlurmTransport

        return SlurmTransport(node)
    raise ValueError(f"unknown transport {node.transport!r}")
