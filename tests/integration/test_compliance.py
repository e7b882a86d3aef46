"""Compliance tests end to end with the real LoadGen and the bundled harness (simulated node
speed): the test's audit.config is placed in the harness's working directory for that run
only, LoadGen reads it, it is gone when the run ends (also after a cancel, and after the
controller is killed: the next preflight removes it), and the verification script's output
is kept."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from engine.config.load import load_config
from engine.errors import ConfigError
from engine.events import RunStateChanged
from engine.model import RunState
from engine.results.schema import read_run_summary
from engine.run.orchestrator import Orchestrator
from tests.support.cli import mlconsole, start_batch, wait_until_live
from tests.support.config_writer import write_config
from tests.support.plans import plan_table, run_plan

VERIFY = """
import json, sys
entries = json.load(open(sys.argv[1] + "/mlperf_log_accuracy.json"))
print("Sample count check pass:", len(entries) > 0)
print("TEST06 verification complete")
"""


def _config(tmp_path: Path, plan: str, speed: float = 400.0) -> Path:
    work = tmp_path / "work"
    work.mkdir(parents=True, exist_ok=True)
    return write_config(
        tmp_path, speeds={"fast": speed}, plan=plan, extra_args="--tokens 8",
        bench_extra=f'cwd = "{work}"',
    )  # fmt: skip


def _stage(test: str, samples: int = 60, **extra: str) -> str:
    return plan_table(
        "compliance", name="compliance", node="fast", benchmark="demo", test=test,
        samples=samples, **extra,
    )  # fmt: skip


async def _run(cfg: Path) -> Path:
    await run_plan(cfg)
    (summary,) = (cfg.parent / "results").glob("*/orchestrator_summary.json")
    return summary.parent


async def test_test06_places_its_audit_config_for_the_run_only_and_verifies(
    tmp_path: Path,
) -> None:
    script = tmp_path / "verify.py"
    script.write_text(VERIFY)
    verify = f"{{python}} {script} {{compliance_dir}}"
    cfg = _config(tmp_path, _stage("TEST06", verify_command=verify))
    run_dir = await _run(cfg)
    s = read_run_summary(run_dir / "orchestrator_summary.json")
    assert s.ok and s.compliance is not None
    c = s.compliance
    assert c.test == "TEST06" and c.source == "mlcommons/inference compliance/TEST06/audit.config"
    assert c.placed_at == f"{tmp_path / 'work'}/audit.config"
    assert c.applied is True and c.removed is True
    assert not (tmp_path / "work" / "audit.config").exists()
    # TEST06's settings won over the harness's: 100 queries, sampled into the accuracy log.
    assert s.loadgen.generated_total == 100
    assert c.verify_passed is True and c.verify_exit_code == 0
    assert c.verify_lines == ("Sample count check pass: True",)
    assert "TEST06 verification complete" in (run_dir / "compliance_verify.txt").read_text()
    assert c.line() == (
        "TEST06: LoadGen read its audit.config, removed after the run; verification PASSED"
    )
    # The next run of the same benchmark is a plain run: nothing is left to override it.
    cfg2 = _config(
        tmp_path / "again", plan_table("run", node="fast", benchmark="demo", samples=60)
    )
    text = cfg2.read_text()
    cfg2.write_text(text.replace(str(tmp_path / "again" / "work"), str(tmp_path / "work")))
    s2 = read_run_summary((await _run(cfg2)) / "orchestrator_summary.json")
    assert s2.ok and s2.loadgen.generated_total == 60 and s2.compliance is None


async def test_a_cancelled_compliance_run_leaves_no_audit_config(tmp_path: Path) -> None:
    cfg = _config(tmp_path, _stage("TEST04", samples=3000), speed=100)
    orch = Orchestrator(load_config(cfg))
    running = asyncio.Event()
    orch.bus.add_listener(
        lambda ev: running.set()
        if isinstance(ev, RunStateChanged) and ev.state == RunState.RUNNING
        else None
    )
    task = asyncio.create_task(orch.run_plan())
    try:
        await asyncio.wait_for(running.wait(), 30)
        assert (tmp_path / "work" / "audit.config").read_text().startswith(
            "# mlconsole: placed for compliance run"
        )
        orch.cancel_all()
        await asyncio.wait_for(task, 60)
    finally:
        await orch.close()
    assert not (tmp_path / "work" / "audit.config").exists()
    (summary,) = (tmp_path / "results").glob("*/orchestrator_summary.json")
    s = read_run_summary(summary)
    assert s.state == RunState.CANCELLED and s.compliance is not None
    assert s.compliance.removed is True and s.compliance.verify_command is None


def test_a_killed_controller_leaves_it_and_the_next_preflight_removes_it(tmp_path: Path) -> None:
    cfg = _config(tmp_path, _stage("TEST04", samples=300), speed=60)
    proc = start_batch(cfg)
    wait_until_live(proc)
    proc.kill()
    proc.wait(timeout=10)
    left = tmp_path / "work" / "audit.config"
    assert left.is_file()  # nobody was left to remove it
    res = mlconsole("check", str(cfg))
    assert "removed the audit.config a compliance run left in" in res.stdout, res.stdout
    assert not left.exists()
    again = mlconsole("check", str(cfg))
    assert "audit.config" not in again.stdout  # the next preflight finds nothing
    # attach follows the run (detached on its node all along) to its end and records it.
    res = mlconsole("attach", str(cfg))
    assert res.returncode == 0, res.stdout + res.stderr
    (summary,) = (tmp_path / "results").glob("*/orchestrator_summary.json")
    s = json.loads(summary.read_text())
    assert s["compliance"]["test"] == "TEST04" and s["compliance"]["removed"] is True
    assert s["compliance"]["applied"] is True


def test_a_foreign_audit_config_is_refused_not_removed(tmp_path: Path) -> None:
    cfg = _config(tmp_path, _stage("TEST04"))
    (tmp_path / "work" / "audit.config").write_text("*.*.mode = 2\n")
    res = mlconsole("check", str(cfg))
    assert "stray audit.config" in res.stdout
    assert (tmp_path / "work" / "audit.config").exists()
    res = mlconsole("--batch", str(cfg))
    assert "stray audit.config" in res.stdout and res.returncode != 0


@pytest.mark.parametrize(
    ("model", "stage", "message"),
    [
        ("resnet50", _stage("TEST06"), "TEST06 is not a compliance test of model resnet50"),
        ("llama3_1-8b", _stage("TEST01"), "TEST01 is not a compliance test of model llama3_1-8b"),
        (
            "demo",
            _stage("TEST01"),
            "plan[1].audit_config: is missing: TEST01's audit.config differs",
        ),
        ("demo", _stage("TEST04", audit_config="nope.config"), "cannot read"),
        ("demo", _stage("TEST04", verify_command="x {nope}"), "unknown placeholder {nope}"),
    ],
)
def test_compliance_stage_errors(tmp_path: Path, model: str, stage: str, message: str) -> None:
    cfg = _config(tmp_path, stage)
    cfg.write_text(cfg.read_text().replace('model = "demo"', f'model = "{model}"'))
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert message in str(err.value) and "plan[1]" in str(err.value)
