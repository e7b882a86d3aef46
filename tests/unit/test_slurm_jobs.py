"""Slurm's output, as recorded from a real Slurm 22.05 (tests/data/slurm/SOURCES.md), read
into jobs and mapped to run states; the sbatch line a node's config makes."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.model import RunState, SlurmSpec
from engine.transport.base import LaunchRequest
from engine.transport.slurm import parse_job_id, sbatch_argv
from engine.transport.slurm_jobs import parse_sacct, parse_scontrol, slurm_end

DATA = Path(__file__).parents[1] / "data" / "slurm"


def scontrol(job: str, name: str = "scontrol_show_job.txt"):  # noqa: ANN201
    info = parse_scontrol((DATA / name).read_text(), job)
    assert info is not None
    return info


def test_a_job_that_exited_3_reads_failed_with_its_code_and_times() -> None:
    info = scontrol("2")
    assert (info.state, info.reason, info.exit_code, info.signal) == (
        "FAILED", "NonZeroExitCode", 3, 0,
    )  # fmt: skip
    assert info.started_at == 1796193448.0 and info.ended_at == 1796193448.0
    assert (info.nodes, info.batch_host, info.stdout) == ("node1", "node1", "/tmp/slrec/out/2.out")
    assert info.over and slurm_end(info.state, cancelled_by_us=False) is None


def test_a_pending_job_has_its_reason_and_no_start() -> None:
    info = scontrol("4")
    assert info.pending and not info.over
    assert (info.reason, info.started_at, info.nodes) == ("PartitionDown", None, None)


def test_a_job_not_in_the_output_is_none() -> None:
    assert parse_scontrol((DATA / "scontrol_show_job.txt").read_text(), "99") is None
    assert parse_scontrol("", "2") is None


@pytest.mark.parametrize(
    ("job", "name", "state", "words"),
    [
        ("3", "scontrol_show_job.txt", RunState.CANCELLED,
         "the job was cancelled outside mlconsole (scancel)"),
        ("7", "scontrol_show_job.txt", RunState.NODE_FAILED, "the job's node failed"),
        ("2", "scontrol_timeout.txt", RunState.TIMED_OUT, "Slurm ended the job at its time limit"),
        ("8", "scontrol_derived.txt", RunState.PREEMPTED, "Slurm preempted the job for another"),
        ("9", "scontrol_derived.txt", RunState.OUT_OF_MEMORY,
         "the job ran out of memory (killed by Slurm's cgroup)"),
    ],
)  # fmt: skip
def test_states_slurm_ends_a_job_in_map_to_clear_run_states(
    job: str, name: str, state: RunState, words: str
) -> None:
    text = (DATA / name).read_text()
    info = parse_scontrol(text, job)
    assert info is not None and info.over
    assert slurm_end(info.state, cancelled_by_us=False) == (state, words)
    assert state.terminal


def test_mlconsoles_own_cancel_is_not_mapped() -> None:
    assert slurm_end("CANCELLED", cancelled_by_us=True) is None
    assert slurm_end("TIMEOUT", cancelled_by_us=True) == (
        RunState.TIMED_OUT, "Slurm ended the job at its time limit",
    )  # fmt: skip


def test_accounting_lines_are_read_once_slurmctld_forgot_the_job() -> None:
    text = (DATA / "sacct_c.txt").read_text()
    info = parse_sacct(text, "2")
    assert info is not None
    assert (info.state, info.exit_code, info.nodes) == ("FAILED", 3, "node1")
    timeout = parse_sacct((DATA / "sacct_c_timeout.txt").read_text(), "2")
    assert timeout is not None and (timeout.state, timeout.ended_at) == ("TIMEOUT", 1796194403.0)
    assert parse_sacct(text, "7").state == "NODE_FAIL"  # type: ignore[union-attr]
    assert parse_sacct("2.batch|FAILED|3:0|1|2|node1\n", "2") is None  # steps are not the job
    assert parse_sacct("4|CANCELLED by 0|0:0|1|2|node1\n", "4").state == "CANCELLED"  # type: ignore[union-attr]


def test_sbatch_line_holds_every_option_as_one_argument() -> None:
    spec = SlurmSpec(
        partition="gpu", account="mlperf", qos="high", gres="gpu:8", constraint="h100",
        time_limit="1:00:00", nodes=1, sbatch_options=("--exclusive",),
    )  # fmt: skip
    req = LaunchRequest("s1-a-10", "/w/runs/x", "true", "/w/runs/x")
    assert sbatch_argv(spec, req) == [
        "sbatch", "--parsable", "--no-requeue", "--job-name=mlc-s1-a-10",
        "--output=/w/runs/x/slurm.out", "--chdir=/w/runs/x", "--nodes=1",
        "--partition=gpu", "--account=mlperf", "--qos=high", "--gres=gpu:8",
        "--constraint=h100", "--time=1:00:00", "--exclusive", "/w/runs/x/launch.sh",
    ]  # fmt: skip
    assert parse_job_id("42\n") == "42" and parse_job_id("42;cluster\n") == "42"
    assert parse_job_id("") is None and parse_job_id("sbatch: error\n") is None


def test_the_slurm_example_loads_as_its_comments_say() -> None:
    from engine.config.load import load_config
    from tests.support.paths import REPO_ROOT

    config = load_config(REPO_ROOT / "configs" / "slurm.example.toml")
    node = config.nodes["h100"]
    assert node.transport == "slurm" and node.host == "login.cluster.example.org"
    assert node.slurm == SlurmSpec(
        partition="gpu", account="mlperf", qos="normal", gres="gpu:h100:1", constraint="h100",
        time_limit="2:00:00", sbatch_options=("--exclusive",),
    )  # fmt: skip
    assert [s.kind for s in config.plan.stages] == ["sweep", "fleet"]
    assert [r.samples for r in config.plan.stages[0].runs] == [1000, 4000]
    from engine.fleet.services import forward_mode

    assert forward_mode(node, config.services["vllm"]) == "ssh"  # through the login host


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[nodes.a]\n[nodes.a.slurm]\npartition = "x"\n', "only Slurm nodes take a slurm table"),
        ('[nodes.a]\ntransport = "slurm"\n[nodes.a.slurm]\npartiton = "x"\n',
         '"partiton" is not a key of a Slurm table'),
        ('[nodes.a]\ntransport = "slurm"\n[nodes.a.slurm]\ntime_limit = "soon"\n',
         "got 'soon'"),
        ('[nodes.a]\ntransport = "slurm"\n[nodes.a.slurm]\nsbatch_options = "--exclusive"\n',
         "got '--exclusive'"),
    ],
)  # fmt: skip
def test_slurm_table_errors_name_the_key(tmp_path: Path, table: str, message: str) -> None:
    from engine.config.load import load_config
    from engine.errors import ConfigError

    path = tmp_path / "c.toml"
    path.write_text(table)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert message in str(err.value)
