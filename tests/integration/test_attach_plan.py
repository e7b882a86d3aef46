"""A console SIGKILLed mid-plan loses no plan: `mlconsole attach` finishes the parallel group it
was in (group_summary.json, the report's group section) and runs the stages that remain.

Real processes throughout: `mlconsole --batch` as a subprocess (killed with SIGKILL), the
bundled LoadGen harness on local nodes and on a node behind a real loopback sshd, then
`mlconsole attach` as a subprocess. Only the node speeds are simulated (the harness's job).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import journal, mlconsole, summaries
from tests.support.config_writer import write_config, write_ssh_config
from tests.support.killed_console import batch_killed_when
from tests.support.plans import plan_table
from tests.support.sshd import SshLab

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]



def group_of(a: str, b: str, total: int) -> str:
    return plan_table(
        "group", name="pair", nodes=[a, b], benchmark="demo", total_samples=total, split="equal"
    )


TWO_STAGES = plan_table(
    "run", name="first", node="slow", benchmark="demo", samples=240
) + plan_table("run", name="second", node="fast", benchmark="demo", samples=60)


def check_group_finished(
    tmp_path: Path, res: subprocess.CompletedProcess, nodes: list[str]
) -> None:
    results = tmp_path / "results"
    assert res.returncode == 0, res.stdout + res.stderr
    (group_dir,) = results.glob("group_pair_*")
    group = json.loads((group_dir / "group_summary.json").read_text())
    runs = summaries(results)
    assert sorted(sh["node"] for sh in group["shards"]) == sorted(nodes)
    for shard in group["shards"]:
        s = runs[shard["run_id"]]
        assert s["exit"]["state"] == "succeeded" and s["samples_processed"] == 200
        assert shard["samples_processed"] == 200
    assert group["total_samples_requested"] == 400 and group["samples_processed"] == 400
    report = (tmp_path / "reports" / "mlconsole_pipeline_report.md").read_text()
    assert "No parallel group recorded" not in report
    assert "pair" in report
    assert not mlconsole("attach", str(tmp_path / "test.toml")).stdout.count("re-attached")


def test_attach_finishes_a_group_the_killed_console_was_running(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path, speeds={"slow": 70, "fast": 90}, plan=group_of("slow", "fast", 400)
    )
    batch_killed_when(cfg, tmp_path / "results", started=2)
    res = mlconsole("attach", str(cfg))
    assert "re-attached to s1-pair-slow" in res.stdout
    check_group_finished(tmp_path, res, ["slow", "fast"])


def test_attach_runs_the_stages_a_killed_console_never_reached(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, speeds={"slow": 60, "fast": 200}, plan=TWO_STAGES)
    results = tmp_path / "results"
    batch_killed_when(cfg, results, started=1)
    res = mlconsole("attach", str(cfg))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "resuming plan" in res.stdout
    assert "1 of 2 stages finished (first); remaining: second" in res.stdout
    runs = summaries(results)
    assert set(runs) == {"s1-slow-240", "s2-fast-60"}
    assert all(s["exit"]["state"] == "succeeded" for s in runs.values())
    assert runs["s2-fast-60"]["samples_processed"] == 60
    # Stage 1's run was followed, not run again: one run dir per run.
    assert len([e for e in journal(results) if e["event"] == "started"]) == 2
    report = (tmp_path / "reports" / "mlconsole_pipeline_report.md").read_text()
    assert "s2-fast-60" in report or "fast" in report
    again = mlconsole("attach", str(cfg))
    assert again.returncode == 0 and "no unfinished runs or plan in" in again.stderr


def test_attach_follow_only_says_what_remains(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, speeds={"slow": 60, "fast": 200}, plan=TWO_STAGES)
    results = tmp_path / "results"
    batch_killed_when(cfg, results, started=1)
    res = mlconsole("attach", str(cfg), "--follow-only")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 of 2 stages finished (first); remaining: second" in res.stdout
    assert set(summaries(results)) == {"s1-slow-240"}
    assert "resuming plan" in mlconsole("attach", str(cfg)).stdout
    assert set(summaries(results)) == {"s1-slow-240", "s2-fast-60"}


def test_attach_from_another_directory_says_where_it_looked(tmp_path: Path) -> None:
    """A relative results_dir is read from the current directory: from elsewhere attach names
    the journal it looked for; given the results dir, it finds the config in the journal."""
    cfg = write_config(tmp_path, speeds={"slow": 60, "fast": 200}, plan=TWO_STAGES)
    text = cfg.read_text().replace(f'"{tmp_path / "results"}"', '"results"')
    cfg.write_text(text.replace(f'"{tmp_path / "reports"}"', '"reports"'))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    batch_killed_when(cfg, tmp_path / "results", started=1, cwd=tmp_path)
    lost = mlconsole("attach", str(cfg), cwd=elsewhere)
    assert f"no journal at {elsewhere / 'results' / 'journal.jsonl'}" in lost.stderr
    assert f"relative to the current directory {elsewhere}" in lost.stderr
    found = mlconsole("attach", str(tmp_path / "results"), cwd=elsewhere)
    assert found.returncode == 0, found.stdout + found.stderr
    assert "re-attached to s1-slow-240" in found.stdout
    assert set(summaries(tmp_path / "results")) == {"s1-slow-240", "s2-fast-60"}
    assert mlconsole("attach", str(elsewhere / "nothing")).returncode == 2


@pytest.mark.ssh
def test_attach_finishes_a_group_on_ssh_nodes(sshd_lab: SshLab, tmp_path: Path) -> None:
    """The same with both shards on SSH nodes behind a real loopback sshd."""
    cfg = write_ssh_config(
        sshd_lab,
        tmp_path,
        {"a": (sshd_lab.server(0), 70), "b": (sshd_lab.server(0), 90)},
        group_of("a", "b", 400),
    )
    cfg = cfg.rename(tmp_path / "test.toml")
    batch_killed_when(cfg, tmp_path / "results", started=2)
    res = mlconsole("attach", str(cfg))
    assert "re-attached to s1-pair-a" in res.stdout
    check_group_finished(tmp_path, res, ["a", "b"])
