"""Opening one asyncssh connection to a node, with every failure told in words.

The TCP connect and the SSH login are timed separately (`connect_timeout_s`,
`login_timeout_s`), so "nothing listens there" and "something listens but never speaks SSH"
read differently. Host keys are checked against known_hosts; when a key is unknown or has
changed, the error gives its SHA256 fingerprint and the exact command that trusts it.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import shlex
import socket
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import HostKeyError, NodeUnreachable
from engine.model import NodeSpec

if TYPE_CHECKING:
    import asyncssh

log = logging.getLogger("engine.transport.ssh")

DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
# Logins in flight at once to one address (host, port). OpenSSH's default `MaxStartups
# 10:30:100` starts refusing unauthenticated connections beyond 10; many node entries behind
# one address (a login host, a port-forwarding gateway, or the 256-node loopback benchmark)
# would otherwise lose logins to it, and their login shells, all started at once, would fight
# over the machine (pyenv's `rehash` lock, for one). The rest wait their turn before their
# TCP connect; a login's turn lasts until its working session has started.
LOGINS_PER_ADDRESS = 8

_login_slots: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, int], asyncio.Semaphore]
] = weakref.WeakKeyDictionary()


def login_slot(node: NodeSpec) -> asyncio.Semaphore:
    """The semaphore that bounds concurrent logins to the node's host:port (one set per event
    loop): hold it from the TCP connect until the session the node is worked through runs."""
    per_loop = _login_slots.setdefault(asyncio.get_running_loop(), {})
    key = (node.host or "", node.port)
    slot = per_loop.get(key)
    if slot is None:
        slot = per_loop[key] = asyncio.Semaphore(LOGINS_PER_ADDRESS)
    return slot


def known_hosts_path(node: NodeSpec) -> str:
    """The known_hosts file checked for this node, `~` expanded."""
    return os.path.expanduser(node.known_hosts or DEFAULT_KNOWN_HOSTS)


def host_pattern(host: str, port: int) -> str:
    """How OpenSSH names a host in known_hosts (`[host]:port` off port 22)."""
    return host if port == 22 else f"[{host}]:{port}"


def keyscan_line(host: str, port: int, known_hosts: str) -> str:
    return f"ssh-keyscan -p {port} {shlex.quote(host)} >> {shlex.quote(known_hosts)}"


def remove_key_line(host: str, port: int, known_hosts: str) -> str:
    return f"ssh-keygen -R {shlex.quote(host_pattern(host, port))} -f {shlex.quote(known_hosts)}"


@dataclass
class LinkState:
    """What the connection's callbacks learned: the server's key, and whether it dropped."""

    offered_key: Any = None  # asyncssh.SSHKey the server presented, when it was not trusted
    lost: bool = False
    lost_reason: str | None = None


def _client_class(state: LinkState) -> type:
    import asyncssh

    class _Client(asyncssh.SSHClient):
        """Records the untrusted key (for the error's fingerprint) and the connection's end."""

        def validate_host_public_key(self, host: str, addr: str, port: int, key: Any) -> bool:
            state.offered_key = key
            return False

        def connection_lost(self, exc: Exception | None) -> None:
            state.lost = True
            state.lost_reason = str(exc) if exc else "the connection was closed"

    return _Client


def fingerprint(key: Any) -> str:
    return f"{key.get_algorithm()} {key.get_fingerprint('sha256')}"


async def _tcp_connect(node: NodeSpec, host: str) -> socket.socket:
    loop = asyncio.get_running_loop()
    where = f"{host}:{node.port}"
    timeout = node.connect_timeout_s
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, node.port, type=socket.SOCK_STREAM), timeout
        )
    except TimeoutError:
        raise NodeUnreachable(node.name, f"looking up {host!r} took over {timeout:g} s") from None
    except socket.gaierror as exc:
        raise NodeUnreachable(node.name, f"cannot resolve host {host!r} ({exc.strerror})") from None
    last: str = "no address"
    for family, kind, proto, _, addr in infos:
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, addr), timeout)
            return sock
        except TimeoutError:
            sock.close()
            last = f"no TCP connection to {where} within {timeout:g} s (connect_timeout_s)"
        except ConnectionRefusedError:
            sock.close()
            last = f"connection to {where} refused (is sshd running on that port?)"
        except OSError as exc:
            sock.close()
            last = f"cannot connect to {where}: {exc.strerror or exc}"
    raise NodeUnreachable(node.name, last)


def _known_hosts_arg(node: NodeSpec) -> tuple[Any, str | None]:
    """(asyncssh known_hosts argument, path) — None when checking is off."""
    import asyncssh

    if not node.verify_host_key:
        return None, None
    path = known_hosts_path(node)
    try:
        return asyncssh.read_known_hosts(path), path
    except FileNotFoundError:
        return asyncssh.import_known_hosts(""), path
    except (OSError, ValueError) as exc:
        raise NodeUnreachable(node.name, f"cannot read known_hosts {path}: {exc}") from None


def _host_key_error(
    node: NodeSpec, host: str, addr: str, kh: Any, kh_path: str, key: Any
) -> HostKeyError:
    port = node.port
    known = kh.match(host, addr, port if port != 22 else None)[0] if kh is not None else []
    scan = keyscan_line(host, port, kh_path)
    shown = fingerprint(key) if key is not None else "a key of a type known_hosts lacks"
    if known:
        reason = (
            f"its host key has CHANGED: {kh_path} holds a different key for "
            f"{host_pattern(host, port)} and the node now presents {shown}; this can be an "
            "attack, so nothing was sent. If the node was reinstalled and that fingerprint is "
            f"right, drop the old key with `{remove_key_line(host, port, kh_path)}` and trust "
            f"the new one with `{scan}`"
        )
    else:
        reason = (
            f"its host key is not in {kh_path} (the node presents {shown}). Check that "
            "fingerprint on the node (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`), "
            f"then trust it with `{scan}`"
        )
    return HostKeyError(node.name, reason)


async def open_connection(node: NodeSpec, state: LinkState) -> asyncssh.SSHClientConnection:
    """A logged-in connection to `node`. Raises NodeUnreachable (HostKeyError for keys).
    Callers hold `login_slot(node)` around it."""
    if not node.host:
        raise NodeUnreachable(node.name, "no host is set for this SSH node")
    host = node.host
    kh, kh_path = _known_hosts_arg(node)
    if node.identity_file:
        key_path = os.path.expanduser(node.identity_file)
        if not Path(key_path).is_file():
            raise NodeUnreachable(node.name, f"identity file {key_path} does not exist")
        client_keys: list[str] | tuple[()] = [key_path]
    else:
        client_keys = ()
    user = node.user or getpass.getuser()
    sock = await _tcp_connect(node, host)
    addr = sock.getpeername()[0]
    try:
        conn = await _login(node, state, sock, addr, kh, kh_path or "", client_keys, user)
    except BaseException:
        sock.close()
        raise
    if not node.verify_host_key:
        key = conn.get_server_host_key()
        log.warning(
            "HOST KEY NOT VERIFIED for node %r (%s:%s, verify_host_key = false): anyone who can "
            "intercept this link can impersonate the node and read what is sent. The node "
            "presented %s; add it to known_hosts and remove verify_host_key = false.",
            node.name,
            host,
            node.port,
            fingerprint(key) if key is not None else "no key",
        )
    return conn


async def _login(
    node: NodeSpec,
    state: LinkState,
    sock: socket.socket,
    addr: str,
    kh: Any,
    kh_path: str,
    client_keys: list[str] | tuple[()],
    user: str,
) -> asyncssh.SSHClientConnection:
    import asyncssh

    host = node.host or ""
    port_arg = node.port if node.port != 22 else None
    try:
        return await asyncio.wait_for(
            asyncssh.connect(
                host,
                node.port,
                sock=sock,
                config=None,
                username=user,
                known_hosts=kh,
                client_keys=client_keys,
                agent_path=() if node.use_agent else None,
                agent_forwarding=False,
                preferred_auth="publickey",
                gss_host=None,
                x509_trusted_certs=None,
                keepalive_interval=node.keepalive_s,
                keepalive_count_max=3,
                login_timeout=node.login_timeout_s,
                client_factory=_client_class(state),
            ),
            # asyncssh's own login timer starts after the TCP connect; this is the backstop.
            node.login_timeout_s + 1.0,
        )
    except TimeoutError:
        raise NodeUnreachable(
            node.name,
            f"{host}:{node.port} accepted the TCP connection but no SSH login completed within "
            f"{node.login_timeout_s:g} s (login_timeout_s)",
        ) from None
    except asyncssh.HostKeyNotVerifiable:
        raise _host_key_error(node, host, addr, kh, kh_path, state.offered_key) from None
    except asyncssh.KeyExchangeFailed as exc:
        if kh is not None and kh.match(host, addr, port_arg)[0]:
            raise _host_key_error(node, host, addr, kh, kh_path, None) from None
        raise NodeUnreachable(node.name, f"SSH key exchange failed: {exc.reason}") from None
    except asyncssh.PermissionDenied:
        offered = [f"identity file {client_keys[0]}"] if client_keys else []
        if node.use_agent:
            offered.append("ssh-agent keys")
        if not client_keys:
            offered.append("default keys in ~/.ssh")
        raise NodeUnreachable(
            node.name,
            f"authentication as {user!r} failed: the server accepted none of "
            f"{' / '.join(offered) or 'no keys'} (password login is never tried)",
        ) from None
    except asyncssh.ConnectionLost as exc:
        reason = exc.reason or "connection lost"
        if "timeout" in reason.lower():
            reason = f"no SSH login within {node.login_timeout_s:g} s (login_timeout_s)"
        raise NodeUnreachable(node.name, f"the connection dropped during login: {reason}") from None
    except asyncssh.DisconnectError as exc:
        raise NodeUnreachable(node.name, f"the server ended the login: {exc.reason}") from None
    except asyncssh.KeyImportError as exc:
        raise NodeUnreachable(
            node.name,
            f"cannot use identity file {node.identity_file}: {exc} (an encrypted key needs "
            "ssh-agent: `ssh-add KEY` and use_agent = true)",
        ) from None
    except OSError as exc:
        raise NodeUnreachable(node.name, f"SSH connection failed: {exc.strerror or exc}") from None
