"""Bad input caught before anything starts (issue 14, defects 3 and 5): the real `mlconsole`
in a subprocess, with no terminal. Each case exits 2 with one line naming the problem, and
neither results/ nor reports/ is created."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.cli import mlconsole
from tests.support.config_writer import write_config

ONE_RUN = '\n[[plan]]\nkind = "run"\nnode = "slow"\nbenchmark = "demo"\nsamples = 10\n'


def _assert_bad_input(res: subprocess.CompletedProcess, needle: str, tmp_path: Path) -> None:
    assert res.returncode == 2, res.stdout + res.stderr
    assert needle in res.stderr, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "reports").exists()


@pytest.mark.parametrize("args", [["frobnicate"], ["chekc"], ["missing.toml"], ["x/none"]])
def test_unknown_command_or_missing_file_exits_2_without_opening_the_console(
    tmp_path: Path, args: list[str]
) -> None:
    res = mlconsole(*args, cwd=tmp_path)
    needle = "unknown command" if "." not in args[0] and "/" not in args[0] else "no such"
    _assert_bad_input(res, needle, tmp_path)
    if args == ["chekc"]:
        assert "did you mean check" in res.stderr


def _bad_configs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    out: dict[str, tuple[Path, str]] = {}
    empty = tmp_path / "empty.toml"
    empty.write_text("# nothing here\n\n")
    out["empty"] = (empty, "empty")
    cfg = write_config(tmp_path, plan=ONE_RUN, name="bom.toml")
    cfg.write_bytes(b"\xef\xbb\xbf" + cfg.read_bytes())
    out["bom"] = (cfg, "byte-order mark (BOM)")
    cfg = write_config(
        tmp_path, plan=ONE_RUN, name="conf.toml", user_conf="*.Offline.min_duration 5"
    )
    out["user.conf"] = (cfg, "benchmarks.demo.user_conf")
    cfg = write_config(tmp_path, plan=ONE_RUN, name="dotdot.toml")
    cfg.write_text(cfg.read_text().replace('workdir = "', 'workdir = "../', 1))
    out["workdir"] = (cfg, "nodes.slow.workdir")
    ssh = tmp_path / "key.toml"
    ssh.write_text(
        f'[settings]\nresults_dir = "{tmp_path / "results"}"\n'
        f'reports_dir = "{tmp_path / "reports"}"\n'
        '[nodes.far]\ntransport = "ssh"\nhost = "127.0.0.1"\n'
        f'identity_file = "{tmp_path / "no_such_key"}"\n'
        '[benchmarks.b]\ncommand = "true"\ndataset_size = 10\n'
        '[[plan]]\nkind = "run"\nnode = "far"\nbenchmark = "b"\nsamples = 10\n'
    )
    out["identity_file"] = (ssh, "nodes.far.identity_file")
    return out


@pytest.mark.parametrize("case", ["empty", "bom", "user.conf", "workdir", "identity_file"])
@pytest.mark.parametrize("command", ["--batch", "check"])
def test_config_errors_exit_2_before_anything_starts(
    tmp_path: Path, case: str, command: str
) -> None:
    cfg, needle = _bad_configs(tmp_path)[case]
    res = mlconsole(command, str(cfg), cwd=tmp_path)
    _assert_bad_input(res, needle, tmp_path)
    assert str(cfg) in res.stderr


def test_a_plan_with_no_stages_is_nothing_to_run(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, plan="")
    _assert_bad_input(mlconsole("--batch", str(cfg), cwd=tmp_path), "plan is empty", tmp_path)


# --- bad files (defect 4) ------------------------------------------------------------------------

RESULTS_010 = Path(__file__).parents[1] / "data" / "results-0.1.0"


def test_report_names_each_unreadable_summary_and_writes_the_rest(tmp_path: Path) -> None:
    import shutil

    res_dir = tmp_path / "res"
    shutil.copytree(RESULTS_010, res_dir)
    binary = res_dir / "fast_20261202_000150" / "orchestrator_summary.json"
    binary.write_bytes(bytes(range(256)) * 8)
    cut = res_dir / "fast_20261202_000151" / "orchestrator_summary.json"
    cut.write_bytes(cut.read_bytes()[:100])
    res = mlconsole("report", str(res_dir), "--reports-dir", str(tmp_path / "rep"), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
    skipped = [line for line in res.stderr.splitlines() if line.startswith("mlconsole: skipped")]
    assert len(skipped) == 2 and str(binary) in skipped[0] + skipped[1]
    assert str(cut) in skipped[0] + skipped[1]
    assert (tmp_path / "rep" / "mlconsole_pipeline_report.md").is_file()


@pytest.mark.parametrize(
    "line, needle",
    [
        (b"\xff\xfe\x00garbage\n", "not UTF-8"),
        (b"[1, 2, 3]\n", "a JSON list"),
        (b"7\n", "a JSON int"),
    ],
)
def test_attach_passes_over_a_bad_journal_line_and_names_it(
    tmp_path: Path, line: bytes, needle: str
) -> None:
    cfg = write_config(tmp_path, plan=ONE_RUN)
    results = tmp_path / "results"
    results.mkdir()
    (results / "journal.jsonl").write_bytes(b'{"event": "finished", "run_dir": "x"}\n' + line)
    res = mlconsole("attach", str(cfg), cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
    assert "journal.jsonl:2" in res.stdout + res.stderr and needle in res.stdout + res.stderr


def test_inspect_on_binary_garbage_caps_and_counts_its_problems(tmp_path: Path) -> None:
    import random

    run = tmp_path / "run"
    run.mkdir()
    noise = random.Random(14).randbytes(200_000)
    (run / "mlperf_log_detail.txt").write_bytes(noise)
    res = mlconsole("inspect", str(run), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert len(res.stdout.splitlines()) < 80, len(res.stdout.splitlines())
    assert "more (" in res.stdout and "in all; --json lists every one" in res.stdout
