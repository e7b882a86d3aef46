"""Real OpenSSH servers on 127.0.0.1 for the SSH tests (a pytest plugin) and the preflight
benchmark (plain import: nothing here needs pytest until a fixture is used).

Each `Sshd` is `/usr/sbin/sshd -D -e -f <cfg>` on a free port with its own ed25519 host key;
one client key pair is authorized for all of them and `known_hosts` trusts them all. Nodes
built by `SshLab.node` use the venv's python, so the node side imports LoadGen and the
project exactly as the controller does.

Faults: `Sshd.kill_connections` kills the sshd processes serving a connection (found through
/proc: the server-side socket's inode, held by children of the sshd master), which drops the
link the way a crashed network path or a restarted sshd would; `down_port` is a closed port,
`hanging_port` a socket that accepts TCP and never says a word.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.model import NodeSpec
from tests.support.paths import REPO_ROOT
from tests.support.processes import stop as stop_process

SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = "/run/sshd"  # compiled into Debian's sshd; it refuses to start without it


def sshd_missing_reason() -> str | None:
    """Why real-sshd tests cannot run here, or None when they can."""
    if not os.path.exists(SSHD):
        return f"OpenSSH server not installed ({SSHD} is absent)"
    if not os.path.isdir(PRIVSEP_DIR):
        try:
            os.makedirs(PRIVSEP_DIR, mode=0o755, exist_ok=True)
        except OSError as exc:
            return f"sshd needs {PRIVSEP_DIR} and it cannot be created: {exc}"
    return None


def _die_with_parent() -> None:
    """In the sshd child before exec: SIGTERM it when the test process dies, so a killed
    test run leaves no sshd behind (Linux PR_SET_PDEATHSIG; elsewhere a no-op).

    It also makes the sshd a child subreaper: a node-side process that outlives the sshd
    session that started it (the node agent reads EOF just after its session ends; a detached
    run) is re-parented to this sshd, which reaps any child, so its CPU time lands in the
    sshd's `cutime` where the benchmarks count it, instead of vanishing into init."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )


def fingerprint_of(pub: Path) -> str:
    """`SHA256:...` of a public key file, as `ssh-keygen -l` prints it."""
    out = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(pub)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.split()[1]


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _descends_from(pid: int, ancestor: int) -> bool:
    seen = 0
    while pid > 1 and seen < 64:
        parent = _ppid(pid)
        if parent is None:
            return False
        if parent == ancestor:
            return True
        pid, seen = parent, seen + 1
    return False


def _server_socket_inodes(port: int, client_port: int | None) -> set[str]:
    """Inodes of established server-side sockets 127.0.0.1:port <- client_port (any if None)."""
    inodes: set[str] = set()
    try:
        rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return inodes
    for row in rows:
        cols = row.split()
        local, remote, state, inode = cols[1], cols[2], cols[3], cols[9]
        if state != "01":  # ESTABLISHED
            continue
        if int(local.split(":")[1], 16) != port:
            continue
        if client_port is not None and int(remote.split(":")[1], 16) != client_port:
            continue
        inodes.add(inode)
    return inodes


@dataclass
class Sshd:
    """One running sshd. `kill_connections` is the fault injector."""

    port: int
    dir: Path
    host_key: Path
    proc: subprocess.Popen[bytes]

    @property
    def host_pub(self) -> Path:
        return self.host_key.with_name(self.host_key.name + ".pub")

    @property
    def known_hosts_line(self) -> str:
        algo, blob = self.host_pub.read_text().split()[:2]
        return f"[127.0.0.1]:{self.port} {algo} {blob}\n"

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.host_pub)

    def sessions_started(self) -> int:
        """`Starting session` lines in its log (an exec, shell or subsystem each; needs
        log_level VERBOSE)."""
        try:
            return (self.dir / "sshd.log").read_text(errors="replace").count("Starting session:")
        except OSError:
            return 0

    def serving_pids(self, client_port: int | None = None) -> list[int]:
        """The sshd children holding the server side of a connection (all if no port)."""
        inodes = _server_socket_inodes(self.port, client_port)
        if not inodes:
            return []
        targets = {f"socket:[{i}]" for i in inodes}
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == self.proc.pid:
                continue
            try:
                fds = list((entry / "fd").iterdir())
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(fd) in targets:
                        pids.append(int(entry.name))
                        break
                except OSError:
                    continue
        return [p for p in pids if _descends_from(p, self.proc.pid)]

    def kill_connections(self, client_port: int | None = None) -> int:
        """SIGKILL the sshd child(ren) serving the connection from `client_port` (every
        connection when None). Returns how many processes were killed."""
        pids = self.serving_pids(client_port)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(pids)

    def stop(self) -> None:
        for pid in self.serving_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        stop_process(self.proc)


_CONFIG = """\
Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
AuthorizedKeysFile {authorized_keys}
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
StrictModes no
PidFile {pid_file}
Subsystem sftp internal-sftp
AllowAgentForwarding no
X11Forwarding no
PrintMotd no
LogLevel {log_level}
"""


@dataclass
class SshLab:
    """A temp dir with a client key, a known_hosts, and the sshds started in it."""

    root: Path
    servers: list[Sshd] = field(default_factory=list)
    _sockets: list[socket.socket] = field(default_factory=list)

    @classmethod
    def create(cls, root: Path | None = None) -> SshLab:
        root = Path(root or tempfile.mkdtemp(prefix="mlconsole-sshd-"))
        root.mkdir(parents=True, exist_ok=True)
        lab = cls(root)
        _keygen(lab.client_key)
        shutil.copyfile(lab.client_key.with_suffix(".pub"), lab.authorized_keys)
        lab.known_hosts.write_text("")
        return lab

    @property
    def client_key(self) -> Path:
        return self.root / "client_ed25519"

    @property
    def authorized_keys(self) -> Path:
        return self.root / "authorized_keys"

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    def start_sshd(
        self, *, trusted: bool = True, extra_config: str = "", log_level: str = "INFO"
    ) -> Sshd:
        """Start one more sshd; `trusted` adds its host key to `known_hosts`. With
        `log_level = "VERBOSE"` its sshd.log has a `Starting session` line per session."""
        if reason := sshd_missing_reason():
            raise RuntimeError(reason)
        n = len(self.servers)
        d = self.root / f"sshd{n}"
        d.mkdir()
        host_key = d / "ssh_host_ed25519_key"
        _keygen(host_key)
        for _attempt in range(5):
            port = free_port()
            cfg = d / "sshd_config"
            cfg.write_text(
                _CONFIG.format(
                    port=port,
                    host_key=host_key,
                    authorized_keys=self.authorized_keys,
                    pid_file=d / "sshd.pid",
                    log_level=log_level,
                )
                + extra_config
            )
            log = open(d / "sshd.log", "ab")  # noqa: SIM115 - handed to the child
            proc = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(cfg)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
            log.close()
            server = Sshd(port, d, host_key, proc)
            if _wait_listening(port, proc):
                self.servers.append(server)
                if trusted:
                    with self.known_hosts.open("a") as f:
                        f.write(server.known_hosts_line)
                return server
            server.stop()
        raise RuntimeError(f"sshd did not start; see {d / 'sshd.log'}")

    def server(self, index: int) -> Sshd:
        """The `index`-th sshd, started on first use."""
        while len(self.servers) <= index:
            self.start_sshd()
        return self.servers[index]

    def node(self, name: str, server: Sshd | None = None, **overrides: object) -> NodeSpec:
        """An SSH NodeSpec for `server` (the first sshd by default), workdir in the lab."""
        server = server or self.server(0)
        workdir = self.root / "nodes" / name
        workdir.mkdir(parents=True, exist_ok=True)
        spec = NodeSpec(
            name=name,
            transport="ssh",
            host="127.0.0.1",
            port=server.port,
            user=getpass.getuser(),
            identity_file=str(self.client_key),
            known_hosts=str(self.known_hosts),
            use_agent=False,
            workdir=str(workdir),
            python=sys.executable,
            env={"PYTHONPATH": str(REPO_ROOT)},
            connect_timeout_s=5.0,
            login_timeout_s=10.0,
        )
        return replace(spec, **overrides)  # type: ignore[arg-type]

    def down_port(self) -> int:
        """A port nothing listens on (connections are refused)."""
        return free_port()

    def hanging_port(self) -> int:
        """A port whose listener completes TCP handshakes and then never answers."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        self._sockets.append(s)
        return int(s.getsockname()[1])

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        for s in self._sockets:
            s.close()
        shutil.rmtree(self.root, ignore_errors=True)


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.02)
    return False


@contextlib.contextmanager
def ssh_lab(root: Path | None = None) -> Iterator[SshLab]:
    """An `SshLab` torn down on exit (every sshd stopped, every file removed)."""
    lab = SshLab.create(root)
    try:
        yield lab
    finally:
        lab.close()
