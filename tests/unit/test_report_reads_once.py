"""`mlconsole report` reads each summary file once (issue 14, report_1000_runs_s): it read
every one twice, once to name the unreadable ones and once for the frames (0.1 s of 2 s over
1,000 runs). The unreadable ones are still named, before anything is written."""

from __future__ import annotations

import collections
import shutil
from pathlib import Path

import pytest

import engine.results.store as store
from console.results_cli import run_report

RESULTS_010 = Path(__file__).parents[1] / "data" / "results-0.1.0"


def test_report_reads_each_summary_once_and_names_the_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    res = tmp_path / "res"
    shutil.copytree(RESULTS_010, res)
    broken = res / "fast_20261202_000150" / "orchestrator_summary.json"
    broken.write_bytes(bytes(range(256)) * 8)
    reads: collections.Counter[Path] = collections.Counter()
    real = store.read_run_summary

    def counting(path: Path):  # noqa: ANN202 - the real reader's result
        reads[Path(path)] += 1
        return real(path)

    monkeypatch.setattr(store, "read_run_summary", counting)
    assert run_report(str(res), str(tmp_path / "rep")) == 0
    assert len(reads) == len(list(res.glob("*/orchestrator_summary.json"))) > 2
    assert set(reads.values()) == {1}, {p.parent.name: n for p, n in reads.items() if n > 1}
    err = capsys.readouterr().err
    assert f"mlconsole: skipped: {broken}" in err or str(broken) in err
    assert (tmp_path / "rep" / "mlconsole_pipeline_report.md").is_file()
