"""One login per node: the node agent carries a whole run over one SSH session (real sshd on
loopback, tests/support/sshd.py).

Stories: a probe, a launch, polls, a stream, a fetch and a cancel cost the node one SSH
session (sshd's own log counts them), where the exec-per-command fallback costs one each; the
node's env reaches commands without appearing on any command line; a killed agent is a lost
link and the reconnect starts a fresh one; a request stuck on the node (a FIFO nobody writes)
drops the link instead of hanging; a login shell that chatters on stdout does not confuse it;
a node without Python falls back to exec + SFTP.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from engine.errors import LinkLost
from engine.run.preflight import probe
from engine.transport import ssh_agent
from engine.transport.base import LaunchRequest
from engine.transport.ssh import SshTransport
from engine.transport.tail import LineTail
from tests.support.paths import DOUBLES_DIR
from tests.support.processes import command_lines
from tests.support.sshd import SshLab

pytestmark = [pytest.mark.ssh, pytest.mark.timeout(60)]

STREAM = ["nvidia-smi", "--query-gpu=index,name", "--format=csv,noheader", "-lms", "30"]


async def _a_run_and_its_chores(t: SshTransport, workdir: str) -> str:
    """Everything a run asks of a node, the way the runner asks it. Returns stdout.log."""
    facts = await probe(t)
    assert facts.loadgen_version, facts
    run_dir = f"{workdir}/runs/r1"
    handle = await t.start(LaunchRequest("r1", run_dir, "echo hello; sleep 0.3; echo bye", run_dir))
    tail = LineTail(f"{run_dir}/stdout.log")
    lines: list[str] = []
    stream = t.stream_lines(STREAM)
    assert (await anext(stream)).startswith("0, ")
    await stream.aclose()
    while (await t.status(handle)).state == "running":
        lines += await tail.poll(t)
        await asyncio.sleep(0.05)
    lines += await tail.poll(t, final=True)
    report = await t.fetch(run_dir, sorted(await t.list_files(run_dir)), Path(workdir) / "back")
    assert report.ok and "stdout.log" in report.copied
    sleeper_dir = f"{workdir}/runs/r2"
    sleeper = await t.start(LaunchRequest("r2", sleeper_dir, "sleep 30", sleeper_dir))
    await t.cancel(sleeper, grace_s=1.0)
    assert (await t.status(sleeper)).state != "running"
    return "\n".join(lines)


async def test_one_session_carries_a_whole_run(sshd_lab: SshLab, ssh_node) -> None:
    server = sshd_lab.start_sshd(log_level="VERBOSE")
    env = {"PATH": f"{DOUBLES_DIR}:/usr/bin:/bin", "PYTHONPATH": str(Path.cwd())}

    agent = SshTransport(ssh_node("a1", server, env=env))
    await agent.connect()
    assert agent.uses_agent
    assert await _a_run_and_its_chores(agent, agent.node.workdir) == "hello\nbye"
    await agent.close()
    with_agent = server.sessions_started()

    fallback = SshTransport(ssh_node("a2", server, env=env, node_agent=False))
    await fallback.connect()
    assert not fallback.uses_agent
    assert await _a_run_and_its_chores(fallback, fallback.node.workdir) == "hello\nbye"
    await fallback.close()
    without = server.sessions_started() - with_agent

    assert with_agent == 1
    assert without >= 4  # SFTP, the probe, two launches, the stream, the cancel


async def test_env_reaches_commands_but_no_command_line(ssh_node) -> None:
    token = "tok-" + os.urandom(6).hex()
    t = SshTransport(ssh_node("e1", env={"HF_TOKEN": token}))
    await t.connect()
    assert (await t.run_shell('echo "$HF_TOKEN"')).stdout == f"{token}\n"
    running = asyncio.create_task(t.run_shell('sleep 0.5; echo "$HF_TOKEN"'))
    await asyncio.sleep(0.2)
    seen = [pid for pid, cmd in command_lines().items() if token.encode() in cmd]
    assert (await running).stdout == f"{token}\n"
    assert seen == []
    await t.close()


async def test_a_killed_agent_is_a_lost_link_and_reconnect_starts_a_fresh_one(ssh_node) -> None:
    t = SshTransport(ssh_node("k1"))
    await t.connect()
    first = t._channel.pid  # noqa: SLF001 - the agent's pid on the node (this machine)
    os.kill(first, signal.SIGKILL)
    with pytest.raises(LinkLost):
        for _ in range(50):
            await t.read_from("/etc/hostname", 0)
            await asyncio.sleep(0.05)
    assert not t.connected
    await t.connect()
    assert t.uses_agent and t._channel.pid != first  # noqa: SLF001
    assert await t.read_from("/etc/hostname", 0) == Path("/etc/hostname").read_bytes()
    await t.close()


async def test_a_request_stuck_on_the_node_drops_the_link(ssh_node, monkeypatch) -> None:
    monkeypatch.setattr(ssh_agent, "REQUEST_TIMEOUT_S", 0.5)
    node = ssh_node("w1")
    fifo = Path(node.workdir) / "nobody-writes"
    os.mkfifo(fifo)
    t = SshTransport(node)
    await t.connect()
    with pytest.raises(LinkLost, match="did not answer a read request within 0.5 s"):
        await t.read_from(str(fifo), 0)
    assert not t.connected
    await t.connect()
    assert (await t.run(["echo", "ok"])).stdout == "ok\n"
    await t.close()


async def test_a_chatty_login_shell_does_not_confuse_it(ssh_node, tmp_path: Path) -> None:
    chatty = tmp_path / "python-with-a-banner"
    chatty.write_text(
        "#!/bin/sh\n"
        'echo "Welcome to the cluster!"\n'
        'echo "{not json"\n'
        f'exec {sys.executable} "$@"\n'
    )
    chatty.chmod(0o755)
    t = SshTransport(ssh_node("c1", python=str(chatty)))
    await t.connect()
    assert t.uses_agent
    assert (await t.run(["echo", "ok"])).stdout == "ok\n"
    await t.close()


async def test_a_node_without_python_falls_back_to_exec_and_sftp(ssh_node, monkeypatch) -> None:
    monkeypatch.setattr(ssh_agent, "FALLBACK_PYTHONS", ())
    t = SshTransport(ssh_node("np", python="/nonexistent/python3"))
    await t.connect()
    assert t.connected and not t.uses_agent
    assert (await t.run(["echo", "ok"])).stdout == "ok\n"
    facts = await probe(t)
    assert any("not found on the node" in w for w in facts.warnings)
    await t.close()


def test_the_agent_is_one_file_of_standard_library_python() -> None:
    """It is sent to the node as source: any import beyond the standard library (or of
    mlconsole itself) would fail there."""
    import ast

    source = Path(ssh_agent.__file__).with_name("node_agent.py").read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            imported.add((node.module or "").split(".")[0])
    assert imported and imported <= set(sys.stdlib_module_names), imported
    ast.parse(source, feature_version=(3, 8))  # no syntax newer than Python 3.8
