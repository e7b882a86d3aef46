"""`--batch` run summaries carry the node's facts from the preflight the plan starts with
(host.os, python, loadgen_version), not nulls."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

from tests.support.config_writer import write_config


def test_batch_summaries_name_the_host(tmp_path: Path) -> None:
    from importlib import metadata

    import mlperf_loadgen  # noqa: F401 - the version below is the installed one's

    plan = '\n[[plan]]\nkind = "run"\nnode = "fast"\nbenchmark = "demo"\nsamples = 40\n'
    cfg = write_config(tmp_path, speeds={"fast": 400}, plan=plan)
    res = subprocess.run(
        [sys.executable, "-m", "console.cli", "--batch", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    [summary] = [
        json.loads(p.read_text())
        for p in (tmp_path / "results").glob("*/orchestrator_summary.json")
    ]
    host = summary["host"]
    assert host["os"] == f"{platform.system()} {platform.release()}"
    assert host["python"] == platform.python_version()
    assert host["loadgen_version"] == metadata.version("mlcommons-loadgen")
