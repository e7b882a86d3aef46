"""A node that got slower between two plans is flagged as a regression where people look: the
batch result line, the per-run report, the pipeline report (with the history chart, since the
results now hold two plans) and `mlconsole history`. Real LoadGen through the bundled harness;
only the node's speed is simulated (the second plan runs it at half the speed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from engine.analysis.history import load_history
from tests.support.cli import mlconsole
from tests.support.config_writer import write_config

PLAN = '[[plan]]\nkind = "run"\nnode = "gpu1"\nbenchmark = "demo"\nsamples = 60\n'


def test_a_slower_second_plan_is_flagged_everywhere(tmp_path: Path) -> None:
    first = mlconsole("--batch", str(write_config(tmp_path, speeds={"gpu1": 200.0}, plan=PLAN)))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "REGRESSION" not in first.stdout
    cfg = write_config(tmp_path, speeds={"gpu1": 100.0}, plan=PLAN, name="slower.toml")
    second = mlconsole("--batch", str(cfg))
    assert second.returncode == 0, second.stdout + second.stderr

    history = load_history([tmp_path / "results"])
    (flagged,) = history.flagged.to_dicts()
    verdict = history.regression_of(flagged["path"])
    assert verdict is not None and verdict.basis == "LoadGen metric"
    # The batch line says what the engine computed, figure named.
    line = verdict.line("gpu1")
    assert line.startswith("REGRESSION: LoadGen metric ")
    assert line in second.stdout, second.stdout
    assert flagged["change"] < -0.3  # half the speed: far below a 5 % margin

    run_dir = Path(flagged["path"])
    report = (run_dir / "gpu1_comprehensive_report.md").read_text()
    assert f"> **{line}**" in report
    pipeline = (tmp_path / "reports" / "mlconsole_pipeline_report.md").read_text()
    assert "## History and regressions" in pipeline
    assert re.search(rf"\[`{run_dir.name}`\].*\| LoadGen metric \|", pipeline)
    assert "The results hold 2 plans" in pipeline
    assert (tmp_path / "reports" / "charts" / "history.png").is_file()

    out = mlconsole("history", str(tmp_path / "results"), "--json", cwd=tmp_path)
    data = json.loads(out.stdout)
    assert data["plans"] == 2 and data["regressions"] == 1
