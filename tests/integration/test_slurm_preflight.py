"""`mlconsole check` on Slurm nodes, against the real localhost Slurm (tests/support/slurm.py):
the partition's state and counts, and the probe run inside an allocation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.config.load import load_config
from engine.run.preflight import check_nodes, facts_table
from tests.support.slurm import SlurmCluster

pytestmark = pytest.mark.xdist_group("slurm")


def config(tmp_path: Path, cluster: SlurmCluster) -> Path:
    text = "\n".join(
        [
            "[settings]",
            f'results_dir = "{tmp_path / "results"}"',
            cluster.node_toml("debug", tmp_path / "nodes" / "debug"),
            cluster.node_toml("down", tmp_path / "nodes" / "down", 'partition = "down"'),
            cluster.node_toml("nosuch", tmp_path / "nodes" / "nosuch", 'partition = "nosuch"'),
        ]
    )
    path = tmp_path / "check.toml"
    path.write_text(text)
    return path


async def test_check_reports_the_partition_and_probes_inside_an_allocation(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    facts = {f.node: f for f in await check_nodes(load_config(config(tmp_path, slurm_cluster)))}
    debug = facts["debug"]
    assert debug.ready and debug.error is None, debug
    assert debug.slurm is not None and debug.slurm.up and debug.slurm.exists
    assert debug.slurm.idle + debug.slurm.allocated == 2 and debug.slurm.gres == ()
    assert debug.slurm.max_time == "UNLIMITED"
    assert debug.python == sys.version.split()[0] and debug.loadgen_version  # on a compute node
    down = facts["down"]
    assert not down.ready
    assert down.error == "Slurm partition down is down: jobs wait (PartitionDown)"
    assert facts["nosuch"].error is not None
    assert facts["nosuch"].error.startswith("Slurm partition nosuch does not exist")
    table = facts_table(list(facts.values()))
    assert "debug: slurm: partition debug up: " in table
    assert "GRES none; MaxTime UNLIMITED" in table
    assert "user limits not available (no accounting database)" in table


def test_mlconsole_check_prints_the_partitions_state(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "console.cli", "check", str(config(tmp_path, slurm_cluster))],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "down: slurm: partition down DOWN: " in res.stdout, res.stdout + res.stderr
    assert "down: error: Slurm partition down is down" in res.stdout


async def test_check_says_whether_pyxis_can_run_an_enroot_container(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    """pyxis is not installed on this Slurm: srun offers no --container-image, and check says
    so for a node whose plan runs a benchmark in an enroot container (it is not ready)."""
    text = "\n".join([
        "[settings]",
        f'results_dir = "{tmp_path / "results"}"',
        slurm_cluster.node_toml("debug", tmp_path / "nodes" / "debug"),
        '[benchmarks.b]\ncommand = "true"\ndataset_size = 10',
        '[benchmarks.b.container]\nruntime = "enroot"\nimage = "nvcr.io#nvidia/pytorch:24.05-py3"',
        '[[plan]]\nkind = "run"\nnode = "debug"\nbenchmark = "b"\nsamples = 1',
    ])  # fmt: skip
    (tmp_path / "enroot.toml").write_text(text)
    (facts,) = await check_nodes(load_config(tmp_path / "enroot.toml"))
    assert [(c.runtime, c.usable) for c in facts.containers] == [("enroot", False)]
    assert not facts.ready and facts.loadgen_version  # the node itself is fine
    assert "debug: warning: enroot is not usable: srun has no --container-image" in (
        facts_table([facts])
    )
