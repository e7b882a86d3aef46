"""Many node entries behind one address (a login host, a gateway; bench/fleet_256.py runs 256
of them): logins queue per address under OpenSSH's default MaxStartups (10 unauthenticated at
once, then random drops), so every node checks out, each with one login.
"""

from __future__ import annotations

import re

import pytest

from engine.model import Config, Plan
from engine.run.orchestrator import Orchestrator
from engine.transport.ssh_connect import LOGINS_PER_ADDRESS
from tests.support.sshd import SshLab

pytestmark = [pytest.mark.ssh, pytest.mark.timeout(120)]

NODES = 24


async def test_two_dozen_node_entries_on_one_sshd_check_out_with_one_login_each(
    sshd_lab: SshLab, ssh_node
) -> None:
    assert NODES > 10 > LOGINS_PER_ADDRESS  # beyond MaxStartups' start: drops without the queue
    server = sshd_lab.start_sshd(log_level="VERBOSE")
    nodes = {f"e{i:02d}": ssh_node(f"e{i:02d}", server) for i in range(NODES)}
    orch = Orchestrator(Config(source="scale", nodes=nodes, benchmarks={}, plan=Plan()))
    try:
        facts = await orch.preflight()
        again = await orch.preflight()  # the same connections: no second login
    finally:
        await orch.close()
    assert [f.node for f in facts if not (f.reachable and f.loadgen_version)] == []
    assert all(f.reachable for f in again)
    log = (server.dir / "sshd.log").read_text(errors="replace")
    assert len(re.findall(r"Accepted publickey", log)) == NODES
    assert server.sessions_started() == NODES  # one agent session per node, nothing more
    assert "MaxStartups" not in log and "drop connection" not in log
