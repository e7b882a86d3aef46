"""The suite's pytest fixtures over the labs in tests/support (a pytest plugin, named in
tests/conftest.py). The labs themselves (`sshd`, `slurm`, `endpoints`) import without pytest,
so the benchmarks in bench/ use them too.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.model import NodeSpec
from tests.support.endpoints import EndpointLab
from tests.support.podman import PodmanLab, make_lab, usable
from tests.support.slurm import SlurmCluster, slurm_missing_reason, start_cluster, stop_cluster
from tests.support.sshd import Sshd, SshLab, ssh_lab, sshd_missing_reason

# --- a lab of real sshds on 127.0.0.1 ----------------------------------------------------------


@pytest.fixture(scope="session")
def sshd_lab() -> Iterator[SshLab]:
    """One lab for the session: sshds are started on demand and stopped at the end."""
    reason = sshd_missing_reason()
    if reason:
        pytest.skip(reason)
    with ssh_lab() as lab:
        yield lab

@pytest.fixture
def sshd(sshd_lab: SshLab) -> Sshd:
    """The lab's first sshd (trusted in the lab's known_hosts)."""
    return sshd_lab.server(0)

@pytest.fixture
def ssh_node(sshd_lab: SshLab, tmp_path: Path):  # noqa: ANN201 - a factory
    """`ssh_node(name, server=None, **overrides) -> NodeSpec`; workdir under tmp_path."""

    def make(name: str, server: Sshd | None = None, **overrides: object) -> NodeSpec:
        workdir = tmp_path / "nodes" / name
        workdir.mkdir(parents=True, exist_ok=True)
        overrides.setdefault("workdir", str(workdir))
        return sshd_lab.node(name, server, **overrides)

    return make

@pytest.fixture
def down_node(sshd_lab: SshLab) -> NodeSpec:
    """An SSH node on a closed port: connections are refused at once."""
    return sshd_lab.node("down", port=sshd_lab.down_port(), connect_timeout_s=2.0)

@pytest.fixture
def hanging_node(sshd_lab: SshLab) -> NodeSpec:
    """An SSH node whose port accepts TCP and never answers: the login times out."""
    return sshd_lab.node(
        "hanging", port=sshd_lab.hanging_port(), connect_timeout_s=2.0, login_timeout_s=2.0
    )


# --- the simulated endpoints ---------------------------------------------------------------------


@pytest.fixture
def endpoint_lab(tmp_path: Path):  # noqa: ANN201
    lab = EndpointLab(tmp_path)
    try:
        yield lab
    finally:
        lab.close()


# --- a real Slurm on localhost -------------------------------------------------------------------


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    why = slurm_missing_reason()
    if why:
        pytest.fail(why)  # `make test` installs it (.ci/ensure-slurm): never a skip
    base = Path(tempfile.mkdtemp(prefix="mlc-slurm-"))
    try:
        cluster = start_cluster(base)
        yield cluster
    finally:
        stop_cluster(base)
        shutil.rmtree(base, ignore_errors=True)


# --- podman, for the container tests --------------------------------------------------------


@pytest.fixture(scope="session")
def podman_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PodmanLab]:
    """The session's podman; whatever container a failed test left is removed after."""
    lab = make_lab(tmp_path_factory.mktemp("podman"))
    if (why := usable(lab)) is not None:
        pytest.skip(why)
    yield lab
    lab.podman("rm", "--all", "--force", "--time", "0", timeout=60)
