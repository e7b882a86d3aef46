"""engine.analysis.chart_process and `mlconsole report`'s use of it (issue 14,
report_1000_runs_s): the charts are drawn by a process forked before polars is imported, from
plain rows (`ChartData`) that need no polars, and come out byte-identical to the charts drawn
in-process. A fork is refused while another thread runs.

This pytest process has imported polars (its thread pool runs), so every fork here happens in a
fresh interpreter started by the test."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine.analysis.chart_process import ChartProcess
from engine.analysis.charts import ChartData
from engine.analysis.frames import load_results
from engine.analysis.history_chart import HISTORY
from engine.analysis.report.rebuild import rebuild_reports
from engine.results.schema import RUN_SUMMARY_FILE
from engine.results.store import JOURNAL
from tests.support.results_builder import standard_results

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_each_job_runs_in_its_own_worker_and_its_result_or_exception_comes_back() -> None:
    out = _python(
        "import os, threading, time\n"
        "from engine.analysis.chart_process import ChartProcess\n"
        "pids = [(os.getpid, ()), (os.getpid, ())]\n"
        "p = ChartProcess.start(warm_up=lambda: None)\n"
        "first = p.pid\n"
        "a, b = p.run(pids)\n"
        "print(p.workers, a == first, b not in (first, os.getpid()))\n"
        "try:\n"
        "    os.waitpid(first, 0)\n"
        "except ChildProcessError:\n"
        "    print('reaped')\n"
        "q = ChartProcess.start(warm_up=lambda: None)\n"
        "try:\n"
        "    q.run([(os.getpid, ()), (int, ('not a number',))])\n"
        "except ValueError as exc:\n"
        "    print('raised', type(exc).__name__)\n"
        "# A first worker with a second thread does not fork: it runs both jobs itself.\n"
        "sleeper = lambda: threading.Thread(target=time.sleep, args=(5,), daemon=True).start()\n"
        "r = ChartProcess.start(warm_up=sleeper)\n"
        "first = r.pid\n"
        "print(r.run(pids) == [first, first])\n"
    )
    assert out.split("\n")[:4] == ["2 True True", "reaped", "raised ValueError", "True"]


def test_an_unused_child_exits_when_closed() -> None:
    out = _python(
        "import os\n"
        "from engine.analysis.chart_process import ChartProcess\n"
        "p = ChartProcess.start()\n"
        "pid = p.pid\n"
        "p.close()\n"
        "try:\n"
        "    os.kill(pid, 0)\n"
        "    print('still there')\n"
        "except ProcessLookupError:\n"
        "    print('gone')\n"
    )
    assert out.strip() == "gone"


def test_no_fork_while_another_thread_runs() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert ChartProcess.start() is None
    finally:
        stop.set()
        other.join()


def test_chart_data_draws_without_polars(tmp_path: Path) -> None:
    root = tmp_path / "results"
    standard_results(root)
    data = tmp_path / "data.pkl"
    data.write_bytes(pickle.dumps(ChartData.of(load_results(root))))
    out = _python(
        "import pickle, sys\n"
        "from pathlib import Path\n"
        "from engine.analysis.charts import write_charts\n"
        f"data = pickle.loads(Path({str(data)!r}).read_bytes())\n"
        f"paths = write_charts(data, Path({str(tmp_path / 'charts')!r}))\n"
        "print(len(paths), 'polars' in sys.modules)\n"
    )
    assert out.strip() == "4 False"


@pytest.mark.parametrize("plans", [1, 2])
def test_report_draws_in_a_child_the_charts_drawn_in_process(tmp_path: Path, plans: int) -> None:
    root = tmp_path / "results"
    standard_results(root)
    if plans == 2:  # the runs in two plans' journal lines: the history chart is drawn too
        runs = sorted(p.name for p in root.iterdir() if (p / RUN_SUMMARY_FILE).is_file())
        half = len(runs) // 2
        lines = [{"event": "plan", "plan_id": "p1"}]
        lines += [{"event": "started", "run_dir": d} for d in runs[:half]]
        lines += [{"event": "plan", "plan_id": "p2"}]
        lines += [{"event": "started", "run_dir": d} for d in runs[half:]]
        (root / JOURNAL).write_text("".join(json.dumps(e) + "\n" for e in lines))
    here = rebuild_reports(root, tmp_path / "here")
    out = _python(
        "import sys\n"
        "import engine.analysis.chart_process as cp\n"
        "real = cp.ChartProcess.start\n"
        "started = []\n"
        "def start(*a, **k):\n"
        "    p = real(*a, **k)\n"
        "    started.append((p is not None, 'polars' in sys.modules))\n"
        "    return p\n"
        "cp.ChartProcess.start = start\n"
        "from console.results_cli import run_report\n"
        f"run_report({str(root)!r}, {str(tmp_path / 'forked')!r})\n"
        "print('started', started)\n"
    )
    # Forked before polars was imported; the paths printed are the ones written in-process.
    *printed, started = out.strip().split("\n")
    assert started == "started [(True, False)]"
    assert [p.replace("forked", "here") for p in printed] == [str(p) for p in here]
    charts = sorted(p.relative_to(tmp_path / "here") for p in here if p.suffix == ".png")
    assert (Path("charts") / HISTORY in charts) is (plans == 2)
    for rel in charts:
        assert (tmp_path / "forked" / rel).read_bytes() == (tmp_path / "here" / rel).read_bytes()
    report = "mlconsole_pipeline_report.md"
    assert (tmp_path / "forked" / report).read_text() == (tmp_path / "here" / report).read_text()


def test_what_is_imported_before_the_fork_starts_no_thread_and_no_heavy_module() -> None:
    """What both processes share; the telemetry reader without the sampler and the event bus
    (engine.telemetry's names are imported on first use)."""
    out = _python(
        "import os, sys\n"
        "import engine.analysis.chart_process\n"
        "from engine.telemetry import read_telemetry\n"
        "heavy = ('polars', 'numpy', 'matplotlib', 'engine.events', 'engine.telemetry.sampler')\n"
        "print(len(os.listdir('/proc/self/task')), [m for m in heavy if m in sys.modules])\n"
    )
    assert out.strip() == "1 []"
