"""The SSH transport against real OpenSSH servers on loopback (see tests/support/sshd.py).

Stories: a detached run survives its link being killed three times and its tailed log comes
back byte for byte; an unknown or changed host key is refused with the fingerprint and the
command that fixes it; hostile values stay data; cancel leaves nothing behind; the node's
MaxSessions is never exceeded; files come back by SFTP with their sizes checked.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from engine.errors import HostKeyError, LaunchRefused, LinkLost, NodeUnreachable
from engine.transport import open_transport
from engine.transport.base import LaunchRequest
from engine.transport.ssh import SshTransport
from engine.transport.tail import LineTail
from tests.support.paths import DOUBLES_DIR
from tests.support.processes import command_lines, live_group_members
from tests.support.sshd import SshLab, fingerprint_of

pytestmark = [pytest.mark.ssh, pytest.mark.timeout(90)]


@pytest.fixture
async def transport(ssh_node):
    t = SshTransport(ssh_node("n1"))
    await t.connect()
    yield t
    await t.close()


async def _reconnect(t: SshTransport) -> None:
    for delay in (0.05, 0.1, 0.2, 0.4, 0.8):
        try:
            await t.connect()
            return
        except NodeUnreachable:
            await asyncio.sleep(delay)
    await t.connect()


async def test_commands_files_and_home(transport: SshTransport) -> None:
    assert open_transport(transport.node).__class__ is SshTransport
    assert transport.connected
    assert await transport.home() == os.path.expanduser("~")
    res = await transport.run(["printf", "%s|", "a b", "$(id)", "it's", ";echo x"])
    assert (res.exit_status, res.stdout) == (0, "a b|$(id)|it's|;echo x|")
    res = await transport.run_shell("echo out; echo err >&2; exit 7")
    assert (res.exit_status, res.stdout, res.stderr) == (7, "out\n", "err\n")
    t0 = time.monotonic()
    res = await transport.run(["sleep", "5"], timeout=0.3)
    assert res.exit_status == 124 and "timed out" in res.stderr
    assert time.monotonic() - t0 < 2

    d = f"{transport.node.workdir}/files/sub"
    await transport.make_dirs(d)
    await transport.write_file(f"{d}/a.txt", b"hello\nworld\n", mode=0o600)
    assert os.stat(f"{d}/a.txt").st_mode & 0o777 == 0o600
    assert await transport.size(f"{d}/a.txt") == 12
    assert await transport.size(f"{d}/absent") is None
    assert await transport.read_from(f"{d}/a.txt", 6) == b"world\n"
    assert await transport.read_from(f"{d}/a.txt", 6, 3) == b"wor"
    assert await transport.read_from(f"{d}/a.txt", 99) == b""
    assert await transport.read_from(f"{d}/absent", 0) == b""
    assert await transport.list_files(d) == {"a.txt": 12}
    assert await transport.list_files(f"{d}/absent") == {}
    big = os.urandom(700_000)  # several SFTP reads
    await transport.write_file(f"{d}/big.bin", big)
    assert await transport.read_from(f"{d}/big.bin", 1000, 600_000) == big[1000:601_000]
    # /proc through SFTP: detach.read_status depends on it.
    cmdline = await transport.read_from(f"/proc/{os.getpid()}/cmdline", 0)
    assert cmdline.split(b"\0")[0] == sys.executable.encode() or b"python" in cmdline


async def test_detached_run_survives_three_link_kills(sshd_lab: SshLab, sshd, ssh_node) -> None:
    """Kill the sshd child serving the link three times while a run writes its log: the run
    keeps going, the tail resumes after each reconnect, and the lines add up to the file."""
    node = ssh_node("n1")
    t = SshTransport(node)
    await t.connect()
    run_dir = f"{node.workdir}/runs/r1"
    script = (
        "import sys, time\n"
        "for i in range(240):\n"
        "    print(f'line {i:04d} ' + 'é✓-' * (i % 37), flush=True)\n"
        "    time.sleep(0.012)\n"
        "print('done', flush=True)\n"
        "sys.exit(3)\n"
    )
    handle = await t.start(
        LaunchRequest(
            "r1",
            run_dir,
            f"{node.python} work.py",
            run_dir,
            files={"work.py": script.encode()},
        )
    )
    tail = LineTail(f"{run_dir}/stdout.log", chunk=4096)
    lines: list[str] = []
    kills = losses = 0
    last_kill = time.monotonic()
    deadline = time.monotonic() + 40
    status = None
    while time.monotonic() < deadline:
        try:
            lines += await tail.poll(t)
            status = await t.status(handle)
            if status.state != "running":
                lines += await tail.poll(t, final=True)
                break
            if kills < 3 and lines and time.monotonic() - last_kill > 0.5:
                assert sshd.kill_connections(t.local_port) >= 1
                kills += 1
                last_kill = time.monotonic()
        except LinkLost:
            losses += 1
            assert not t.connected
            await _reconnect(t)
        await asyncio.sleep(0.05)
    await t.close()

    assert kills == 3 and losses >= 3, (kills, losses)
    assert status is not None and status.state == "exited" and status.exit_code == 3
    assert status.started_at is not None and status.ended_at is not None
    on_node = Path(run_dir, "stdout.log").read_bytes()
    assert on_node.endswith(b"done\n") and on_node.count(b"\n") == 241
    assert ("\n".join(lines) + "\n").encode() == on_node


async def test_unknown_host_key_is_refused_with_the_command_that_trusts_it(
    sshd, ssh_node, tmp_path: Path
) -> None:
    kh = tmp_path / "known_hosts"
    node = ssh_node("n1", known_hosts=str(kh))  # the file does not even exist yet
    with pytest.raises(HostKeyError) as err:
        await SshTransport(node).connect()
    text = str(err.value)
    assert sshd.fingerprint in text
    keyscan = f"ssh-keyscan -p {sshd.port} 127.0.0.1 >> {kh}"
    assert keyscan in text
    # Following the advice works.
    subprocess.run(keyscan, shell=True, check=True, capture_output=True)
    t = SshTransport(node)
    await t.connect()
    assert (await t.run(["true"])).exit_status == 0
    await t.close()


async def test_changed_host_key_is_refused_and_the_fix_works(
    sshd, ssh_node, tmp_path: Path
) -> None:
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    algo, blob = other.with_suffix(".pub").read_text().split()[:2]
    kh = tmp_path / "known_hosts"
    kh.write_text(f"[127.0.0.1]:{sshd.port} {algo} {blob}\n")
    node = ssh_node("n1", known_hosts=str(kh))
    with pytest.raises(HostKeyError) as err:
        await SshTransport(node).connect()
    text = str(err.value)
    assert "CHANGED" in text and sshd.fingerprint in text
    assert fingerprint_of(other.with_suffix(".pub")) not in text
    remove = f"ssh-keygen -R '[127.0.0.1]:{sshd.port}' -f {kh}"
    keyscan = f"ssh-keyscan -p {sshd.port} 127.0.0.1 >> {kh}"
    assert remove in text and keyscan in text
    for cmd in (remove, keyscan):
        subprocess.run(cmd, shell=True, check=True, capture_output=True)
    t = SshTransport(node)
    await t.connect()
    await t.close()


async def test_verify_host_key_false_connects_and_warns_loudly(
    sshd, ssh_node, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    node = ssh_node("n1", known_hosts=str(tmp_path / "empty"), verify_host_key=False)
    with caplog.at_level(logging.WARNING, logger="engine.transport.ssh"):
        t = SshTransport(node)
        await t.connect()
    assert (await t.run(["true"])).exit_status == 0
    await t.close()
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("HOST KEY NOT VERIFIED" in m and sshd.fingerprint in m for m in warned)


async def test_unreachable_nodes_say_why(
    down_node, hanging_node, ssh_node, sshd_lab: SshLab, tmp_path: Path
) -> None:
    t0 = time.monotonic()
    with pytest.raises(NodeUnreachable, match="refused"):
        await SshTransport(down_node).connect()
    assert time.monotonic() - t0 < 1.5

    t0 = time.monotonic()
    with pytest.raises(NodeUnreachable, match="login") as err:
        await SshTransport(hanging_node).connect()
    assert not isinstance(err.value, HostKeyError)
    assert hanging_node.login_timeout_s - 0.5 < time.monotonic() - t0 < 5

    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    with pytest.raises(NodeUnreachable, match="authentication as .* failed"):
        await SshTransport(ssh_node("n1", identity_file=str(stranger))).connect()


async def test_cancel_leaves_no_process_of_the_run(transport: SshTransport) -> None:
    """The harness and its children ignore TERM; cancel escalates to KILL and waits until
    /proc shows nothing of the run's process group."""
    run_dir = f"{transport.node.workdir}/runs/c1"
    command = "trap '' TERM\nsleep 60 &\nsh -c 'sleep 61' &\nsleep 62\n"
    handle = await transport.start(LaunchRequest("c1", run_dir, command, run_dir))
    for _ in range(50):
        if len(live_group_members(handle.pid)) >= 4:
            break
        await asyncio.sleep(0.05)
    assert len(live_group_members(handle.pid)) >= 4
    t0 = time.monotonic()
    await transport.cancel(handle, grace_s=0.5)
    assert 0.4 < time.monotonic() - t0 < 5
    assert live_group_members(handle.pid) == []
    assert (await transport.status(handle)).state != "running"


async def test_hostile_values_stay_data(transport: SshTransport, tmp_path: Path) -> None:
    """`;`, `$(...)`, backquotes, quotes and spaces in env values, cwd and the command's
    arguments reach the harness literally; nothing they spell runs, nothing escapes."""
    marker = tmp_path / "pwned"
    evil = f"; touch {marker}; $(touch {marker}) `touch {marker}` ' \" x"
    # The directory's name spells the same attack, minus the tmp path (a name over 255 bytes
    # is refused by the file system before any shell sees it).
    cwd = tmp_path / ("cwd " + evil.replace(f"{tmp_path}/", "").replace("/", "_"))
    cwd.mkdir()
    node_env_t = SshTransport(replace(transport.node, env={"EVIL_NODE": evil}))
    await node_env_t.connect()
    run_dir = f"{transport.node.workdir}/runs/h1"
    command = 'pwd; printf "%s\\n" "$EVIL" "$EVIL_NODE"'
    handle = await node_env_t.start(
        LaunchRequest("h1", run_dir, command, str(cwd), env={"EVIL": evil, "BAD NAME": evil})
    )
    for _ in range(100):
        if (await node_env_t.status(handle)).state == "exited":
            break
        await asyncio.sleep(0.05)
    out = Path(run_dir, "stdout.log").read_text()
    assert out == f"{cwd}\n{evil}\n{evil}\n"
    res = await node_env_t.run(["echo", evil])
    assert res.stdout == evil + "\n"
    assert (await node_env_t.run_shell('printf %s "$EVIL_NODE"')).stdout == evil
    await node_env_t.close()
    assert not marker.exists()

    with pytest.raises(LaunchRefused):
        await transport.start(LaunchRequest("../up", run_dir + "2", "true", "/"))
    with pytest.raises(LaunchRefused):
        await transport.start(LaunchRequest("h2", f"{run_dir}/../../escaped", "true", "/"))
    with pytest.raises(LaunchRefused):
        await transport.start(
            LaunchRequest("h3", f"{run_dir}3", "true", "/", files={"../user.conf": b"x"})
        )
    assert not Path(transport.node.workdir, "escaped").exists()
    assert not Path(transport.node.workdir, "runs", "user.conf").exists()
    report = await transport.fetch(run_dir, ["../h1/stdout.log", "stdout.log"], tmp_path / "d")
    assert report.missing == ("../h1/stdout.log",) and report.copied == ("stdout.log",)


async def test_max_sessions_is_never_exceeded(ssh_node, tmp_path: Path) -> None:
    """24 commands at once against sshd's default MaxSessions (10) all succeed, and without
    the node agent (one exec channel per command) and max_sessions = 3 at most 2 commands
    (plus the SFTP channel) ever run together."""
    many = SshTransport(ssh_node("n1"))  # max_sessions = 8
    await many.connect()
    results = await asyncio.gather(
        *(many.run(["sh", "-c", "sleep 0.1; echo $0", str(i)]) for i in range(24)),
        *(many.read_from("/etc/hostname", 0) for _ in range(20)),
    )
    assert [r.stdout for r in results[:24]] == [f"{i}\n" for i in range(24)]
    await many.close()

    log = tmp_path / "spans"
    few = SshTransport(ssh_node("n2", max_sessions=3, node_agent=False))
    await few.connect()
    # Each command holds its session 0.5 s: long enough that two overlap even when opening a
    # channel is slow on a loaded machine (at 0.15 s a starved run saw only one at a time).
    span = f'echo "+ $(date +%s.%N)" >> {log}; sleep 0.5; echo "- $(date +%s.%N)" >> {log}'
    await asyncio.gather(*(few.run_shell(span) for _ in range(8)))
    await few.close()
    events = sorted(
        (float(ts), 1 if sign == "+" else -1)
        for sign, ts in (line.split() for line in log.read_text().splitlines())
    )
    running = peak = 0
    for _, delta in sorted(events, key=lambda e: (e[0], e[1])):
        running += delta
        peak = max(peak, running)
    assert peak == 2


async def test_fetch_copies_by_sftp_with_sizes_checked(
    transport: SshTransport, tmp_path: Path
) -> None:
    remote = f"{transport.node.workdir}/runs/f1"
    await transport.make_dirs(remote)
    payload = os.urandom(1_300_000)
    await transport.write_file(f"{remote}/mlperf_log_detail.txt", payload)
    await transport.write_file(f"{remote}/empty.txt", b"")
    dest = tmp_path / "controller" / "run"
    report = await transport.fetch(
        remote, ["mlperf_log_detail.txt", "empty.txt", "mlperf_log_summary.txt"], dest
    )
    assert report.copied == ("mlperf_log_detail.txt", "empty.txt")
    assert report.missing == ("mlperf_log_summary.txt",)
    assert report.bytes == len(payload) and not report.ok
    assert (dest / "mlperf_log_detail.txt").read_bytes() == payload


async def test_stream_lines_ends_cleanly_when_the_consumer_stops(ssh_node, tmp_path: Path) -> None:
    """nvidia-smi -lms through the test double (no GPU here): lines stream, and when the
    consumer stops, the remote loop is gone."""
    node = ssh_node("n1", env={"PATH": f"{DOUBLES_DIR}:/usr/bin:/bin"})
    t = SshTransport(node)
    await t.connect()
    fields = "timestamp,index,name,utilization.gpu,memory.used,memory.total,temperature.gpu"
    stream = t.stream_lines(
        ["nvidia-smi", f"--query-gpu={fields}", "--format=csv,noheader,nounits", "-lms", "40"]
    )
    got = []
    async for line in stream:
        got.append(line)
        if len(got) == 6:
            break
    await stream.aclose()
    assert [line.split(", ")[1] for line in got] == ["0", "1"] * 3
    assert got[1].split(", ")[3] == "[N/A]"

    def doubles_running() -> list[int]:
        marker = str(DOUBLES_DIR).encode()
        return [pid for pid, cmd in command_lines().items() if marker in cmd and b"-lms" in cmd]

    for _ in range(40):
        if not doubles_running():
            break
        await asyncio.sleep(0.05)
    assert doubles_running() == []
    # The connection is still good for more work.
    assert (await t.run(["true"])).exit_status == 0
    await t.close()


async def test_operations_on_a_lost_link_raise_link_lost(sshd, ssh_node) -> None:
    t = SshTransport(ssh_node("n1"))
    with pytest.raises(LinkLost, match="not connected"):
        await t.run(["true"])
    await t.connect()
    sleeper = asyncio.create_task(t.run(["sleep", "5"]))
    await asyncio.sleep(0.3)
    sshd.kill_connections(t.local_port)
    with pytest.raises(LinkLost):
        await sleeper
    with pytest.raises(LinkLost):
        await t.read_from("/etc/hostname", 0)
    assert not t.connected
    await t.connect()
    assert (await t.read_from("/etc/hostname", 0)) == Path("/etc/hostname").read_bytes()
    await t.close()
