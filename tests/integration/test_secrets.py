"""No secret in any file under results/ or reports/ (issue 14, defect 2): a real run, locally
through the `mlconsole --batch` CLI and over a real loopback sshd, with HF_TOKEN in the node's
env, a secret var, and a token written into the command template; the harness (the real
bundled LoadGen harness, simulated speed) also prints the token to stdout. Every file kept on
the controller is grepped for each value; the node's own copies are mode 0600."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.support.cli import mlconsole
from tests.support.config_writer import HARNESS, write_config, write_ssh_config
from tests.support.plans import plan_table, run_plan
from tests.support.sshd import SshLab

ENV_TOKEN = "hf_ENVtoken0123456789"
CMD_TOKEN = "hf_CMDtoken9876543210"
VAR_KEY = "sk-VARkey-abcdef"
CUSTOM = "wandb-CUSTOM-55555"
SECRETS = (ENV_TOKEN, CMD_TOKEN, VAR_KEY, CUSTOM)
# The node prints what it was given (as a careless harness would), then runs the harness.
COMMAND = (
    'echo "env token $HF_TOKEN, custom $WANDB_THING" && '
    f"HF_TOKEN={CMD_TOKEN} {{python}} -m engine.harness.demo --scenario {{scenario}} "
    "--mode {mode} --total-sample-count {samples} --shard-start {shard_start} "
    "--output-dir {output_dir} --user-conf {user_conf} --model {model} --speed {speed} "
    "--concurrency 4 && echo api {api_key}"
)


def plan_on(node: str) -> str:
    return plan_table("run", node=node, benchmark="demo", samples=40)


def _with_secrets(text: str, node: str) -> str:
    for harness in (HARNESS + " ", HARNESS):  # write_config's (extra args: none) and the ssh one
        text = text.replace(json.dumps(harness), json.dumps(COMMAND))
    assert json.dumps(COMMAND) in text
    text = text.replace("[settings]\n", '[settings]\nsecret_names = ["WANDB_*"]\n', 1)
    head, sep, rest = text.partition(f"[nodes.{node}]\n")
    extra = (
        f'env = {{ HF_TOKEN = "{ENV_TOKEN}", WANDB_THING = "{CUSTOM}" }}\n'
        if "env = " not in rest.split("\n\n")[0]
        else ""
    )
    rest = rest.replace("vars = { speed", f'vars = {{ api_key = "{VAR_KEY}", speed', 1)
    rest = rest.replace(
        "env = { PYTHONPATH",
        f'env = {{ HF_TOKEN = "{ENV_TOKEN}", WANDB_THING = "{CUSTOM}", PYTHONPATH',
        1,
    )
    return head + sep + extra + rest


def _assert_no_secret(*roots: Path) -> int:
    files = [p for root in roots for p in root.rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, f"{secret} in {path}"
    return len(files)


def _assert_node_files_private(node_runs: Path) -> None:
    (run,) = list(node_runs.iterdir())
    for name in ("command.sh", "user.conf", "stdout.log", "stderr.log"):
        mode = stat.S_IMODE((run / name).stat().st_mode)
        assert mode & 0o077 == 0, f"{name} is {oct(mode)}"
    assert CMD_TOKEN in (run / "command.sh").read_text()  # the node ran the real command


def test_a_local_batch_run_keeps_no_secret(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, speeds={"slow": 200}, plan=plan_on("slow"))
    cfg.write_text(_with_secrets(cfg.read_text(), "slow"))
    res = mlconsole("--batch", str(cfg))
    assert res.returncode == 0, res.stdout + res.stderr
    (run_dir,) = [p.parent for p in (tmp_path / "results").glob("*/orchestrator_summary.json")]
    assert "env token <redacted>, custom <redacted>" in (run_dir / "stdout.log").read_text()
    assert "api <redacted>" in (run_dir / "stdout.log").read_text()
    assert "HF_TOKEN=<redacted>" in (run_dir / "command.sh").read_text()
    assert _assert_no_secret(tmp_path / "results", tmp_path / "reports") > 10
    _assert_node_files_private(tmp_path / "nodes" / "slow" / "runs")


@pytest.mark.ssh
@pytest.mark.timeout(180)
async def test_an_ssh_run_keeps_no_secret(sshd_lab: SshLab, tmp_path: Path) -> None:
    cfg = write_ssh_config(sshd_lab, tmp_path, {"a": (sshd_lab.server(0), 200)}, plan_on("a"))
    cfg.write_text(_with_secrets(cfg.read_text(), "a"))
    _, outcome, _ = await run_plan(cfg)
    assert outcome.ok, outcome.failures
    (run_dir,) = [p.parent for p in (tmp_path / "results").glob("*/orchestrator_summary.json")]
    assert "env token <redacted>" in (run_dir / "stdout.log").read_text()
    assert _assert_no_secret(tmp_path / "results", tmp_path / "reports") > 10
    _assert_node_files_private(tmp_path / "nodes" / "a" / "runs")
