"""The `mlconsole` command as a user runs it: exit codes, one-line errors, Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import mlconsole, start_batch, wait_until_live
from tests.support.config_writer import write_config
from tests.support.paths import REFERENCE
from tests.support.processes import live_group_members

REF = REFERENCE
ONE_RUN = """
[[plan]]
kind = "run"
node = "{node}"
benchmark = "demo"
samples = {samples}
"""


def test_help_names_the_commands() -> None:
    res = mlconsole("--help")
    assert res.returncode == 0
    for word in ("--batch", "check", "inspect", "report", "init", "SIMULATED"):
        assert word in res.stdout


def test_batch_runs_the_plan_and_writes_reports(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        speeds={"slow": 150, "fast": 300},
        plan=ONE_RUN.format(node="slow", samples=60) + ONE_RUN.format(node="fast", samples=60),
    )
    res = mlconsole("--batch", str(cfg))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SIMULATED" in res.stdout
    assert "succeeded: LoadGen Samples per second" in res.stdout
    assert "done in" in res.stdout and "2 succeeded, 0 failed" in res.stdout
    runs = list((tmp_path / "results").glob("*/orchestrator_summary.json"))
    assert len(runs) == 2
    reports = tmp_path / "reports"
    assert (reports / "charts" / "performance_analysis.png").is_file()
    assert list(reports.glob("*.md"))
    for summary in runs:
        node = json.loads(summary.read_text())["node"]
        assert (summary.parent / f"{node}_comprehensive_report.md").is_file()


def test_a_failed_run_exits_1_with_what_failed(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        speeds={"slow": 200},
        plan=ONE_RUN.format(node="slow", samples=40),
        extra_args="--crash-after 5",
    )
    res = mlconsole("--batch", str(cfg))
    assert res.returncode == 1
    assert "some runs failed" in res.stderr and "s1-slow-40" in res.stderr
    assert "Traceback" not in res.stderr + res.stdout


@pytest.mark.parametrize(
    "text, needle",
    [
        ("[nodes.a]\ntransport = 'carrier-pigeon'\n", "nodes.a.transport"),
        ("[nodes.a\n", "line 1"),
        ("[settings]\npoll_interval = 1\n", "settings.poll_interval"),
    ],
)
def test_bad_config_is_one_line_and_exit_2(tmp_path: Path, text: str, needle: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    res = mlconsole("--batch", str(cfg))
    assert res.returncode == 2
    assert needle in res.stderr and str(cfg) in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "results").exists()


def test_missing_config_and_unknown_stage_are_bad_input(tmp_path: Path) -> None:
    assert mlconsole("--batch", str(tmp_path / "nope.toml")).returncode == 2
    cfg = write_config(tmp_path, plan=ONE_RUN.format(node="slow", samples=10))
    res = mlconsole("--batch", str(cfg), "--stage", "nope")
    assert res.returncode == 2 and "no stage named nope" in res.stderr


def test_ctrl_c_cancels_live_runs_keeps_partial_results_and_exits_130(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path, speeds={"slow": 20}, plan=ONE_RUN.format(node="slow", samples=1000)
    )
    proc = start_batch(cfg, stderr=subprocess.PIPE)
    wait_until_live(proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "cancelling live runs" in err and "Traceback" not in err
    (summary,) = (tmp_path / "results").glob("*/orchestrator_summary.json")
    s = json.loads(summary.read_text())
    assert s["exit"]["state"] == "cancelled"
    assert (summary.parent / "stdout.log").stat().st_size > 0
    pid = int((tmp_path / "nodes" / "slow" / "runs" / s["run_dir"] / "pid").read_text())
    assert live_group_members(pid) == []  # nothing of the run is left alive


def test_inspect_reads_the_reference_logs() -> None:
    res = mlconsole("inspect", str(REF / "seed-logs" / "jw2_performance_200samples.txt"), "--json")
    assert res.returncode == 0, res.stderr
    assert '"INVALID"' in res.stdout and "0.16" in res.stdout
    assert mlconsole("inspect", "/no/such/path").returncode == 2


def test_init_writes_a_config_that_loads(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    assert mlconsole("init", str(path)).returncode == 0
    assert mlconsole("init", str(path)).returncode == 2  # refuses to overwrite
    from engine.config.load import load_config

    load_config(path)


def test_report_rebuilds_from_recorded_results_alone(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, speeds={"slow": 300}, plan=ONE_RUN.format(node="slow", samples=30))
    assert mlconsole("--batch", str(cfg)).returncode == 0
    out = tmp_path / "rebuilt"
    res = mlconsole("report", str(tmp_path / "results"), "--reports-dir", str(out))
    assert res.returncode == 0, res.stderr
    assert (out / "charts" / "performance_analysis.png").is_file()
    assert mlconsole("report", str(tmp_path / "nothing")).returncode == 2


def test_a_killed_console_loses_nothing_attach_collects_the_run(tmp_path: Path) -> None:
    """The console dies (SIGKILL) mid-run; the run goes on detached on its node, and
    `mlconsole attach` follows it to the end and collects complete results."""
    cfg = write_config(tmp_path, speeds={"slow": 60}, plan=ONE_RUN.format(node="slow", samples=240))
    proc = start_batch(cfg)
    wait_until_live(proc)
    proc.kill()
    proc.wait(timeout=10)
    assert not list((tmp_path / "results").glob("*/orchestrator_summary.json"))
    res = mlconsole("attach", str(cfg))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "re-attached to s1-slow-240" in res.stdout
    (summary,) = (tmp_path / "results").glob("*/orchestrator_summary.json")
    s = json.loads(summary.read_text())
    assert s["exit"]["state"] == "succeeded" and s["samples_processed"] == 240
    node_stdout = tmp_path / "nodes" / "slow" / "runs" / s["run_dir"] / "stdout.log"
    assert (summary.parent / "stdout.log").read_bytes() == node_stdout.read_bytes()
    assert mlconsole("attach", str(cfg)).returncode == 0  # nothing left to follow
