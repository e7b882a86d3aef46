"""`mlconsole export-submission`: run dirs built from real published logs (Cisco's v5.1
llama3.1-8b Server performance and accuracy runs, tests/data/published) export to the round's
layout; runs of the bundled harness are refused with the rules they break.

The run dirs hold the published LoadGen files unchanged plus the orchestrator_summary.json
mlconsole writes (built by the real build_run_summary from those logs and made-up preflight
facts: no GPU here). The official checker cannot be fetched in the suite, so its stand-in is
a script at the checker's path in a temporary checkout that records its arguments."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from console.cli import main
from engine.loadgen.parse import read_run_logs
from engine.model import Benchmark, GpuInfo, Mode, NodeFacts, RunSpec, RunState, Scenario
from engine.results.store import write_run_summary
from engine.results.summary import build_run_summary
from engine.submission.export import KEEP_BYTES, truncate_accuracy_log
from tests.support.paths import DATA

REPO = Path(__file__).resolve().parents[2]
CISCO = DATA / "published" / "v5.1" / "closed" / "Cisco"
CISCO_RUNS = CISCO / "results" / "C885_H200x8_TRT" / "llama3.1-8b"
CISCO_MEAS = CISCO / "measurements" / "C885_H200x8_TRT" / "llama3.1-8b" / "Server"
FACTS = NodeFacts(
    node="c885", reachable=True, os="Ubuntu 22.04.4 LTS", python="3.10.12",
    loadgen_version="5.1.0", gpu_state="ok", driver="570.124.06",
    gpus=tuple(GpuInfo(i, "NVIDIA H200", 143771.0) for i in range(8)),
    os_name="Ubuntu 22.04.4 LTS", cpu_model="Intel(R) Xeon(R) Platinum 8480+", cpu_cores=56,
    cpu_sockets=2, memory_bytes=2_113_877_524_480,
)  # fmt: skip


def _recorded(root: Path, name: str, src: Path, mode: Mode, model: str, *extra: Path) -> Path:
    run = root / name
    shutil.copytree(src, run)
    for f in extra:
        shutil.copyfile(f, run / f.name)
    bench = Benchmark("llama3.1-8b-server", "python main.py", 13368, model=model)
    spec = RunSpec(name, "c885", bench.name, Scenario.SERVER, mode, 13368)
    summary = build_run_summary(
        spec=spec, benchmark=bench, run_dir_name=name, simulated=False,
        state=RunState.SUCCEEDED, exit_code=0, detail="", start_unix=0.0, end_unix=630.0,
        logs=read_run_logs(run), facts=FACTS, telemetry=None, files=(),
        submission_round="v5.1",
    )  # fmt: skip
    write_run_summary(run, summary)
    return run


@pytest.fixture
def published_results(tmp_path) -> Path:
    root = tmp_path / "results"
    root.mkdir()
    _recorded(root, "c885_20250731_082752", CISCO_RUNS / "Server" / "performance" / "run_1",
              Mode.PERFORMANCE, "llama3_1-8b", CISCO_MEAS / "user.conf")  # fmt: skip
    _recorded(root, "c885_20250731_090000", CISCO_RUNS / "Server" / "accuracy",
              Mode.ACCURACY, "llama3_1-8b")  # fmt: skip
    return root


def test_runs_of_published_logs_export_to_the_v51_layout(published_results, tmp_path, capsys):
    out = tmp_path / "submission"
    rc = main(["export-submission", str(published_results), str(out), "--round", "v5.1",
               "--submitter", "Cisco", "--system", "C885_H200x8_TRT"])  # fmt: skip
    printed = capsys.readouterr().out
    assert rc == 0, printed
    root = out / "closed" / "Cisco"
    res = root / "results" / "C885_H200x8_TRT" / "llama3.1-8b" / "Server"
    for name in ("mlperf_log_summary.txt", "mlperf_log_detail.txt"):
        src = CISCO_RUNS / "Server" / "performance" / "run_1" / name
        assert (res / "performance" / "run_1" / name).read_bytes() == src.read_bytes()
        src = CISCO_RUNS / "Server" / "accuracy" / name
        assert (res / "accuracy" / name).read_bytes() == src.read_bytes()
    # The published accuracy log is already truncated, and its accuracy.txt holds the hash.
    acc = CISCO_RUNS / "Server" / "accuracy"
    for name in ("mlperf_log_accuracy.json", "accuracy.txt"):
        assert (res / "accuracy" / name).read_bytes() == (acc / name).read_bytes()
    # v5.1 keeps measurements and compliance beside results/.
    meas = root / "measurements" / "C885_H200x8_TRT" / "llama3.1-8b" / "Server"
    assert (meas / "user.conf").read_text() == (CISCO_MEAS / "user.conf").read_text()
    assert (meas / "README.md").is_file()
    assert json.loads((meas / "measurements.json").read_text()) == {}
    system = json.loads((root / "systems" / "C885_H200x8_TRT.json").read_text())
    assert system["accelerator_model_name"] == "NVIDIA H200"
    assert system["accelerators_per_node"] == 8
    assert system["operating_system"] == "Ubuntu 22.04.4 LTS"
    assert "LoadGen 5.1.0" in system["other_software_stack"]
    assert system["host_processor_model_name"] == "Intel(R) Xeon(R) Platinum 8480+"
    assert (system["host_processors_per_node"], system["host_processor_core_count"]) == (2, 56)
    assert system["host_memory_capacity"] == "1969 GiB (MemTotal)"
    # Nothing unknown is filled in: no placeholder anywhere, each unknown field listed.
    assert "host_processor_caches" not in system and "cooling" not in system
    assert not any(v in ("", "TBD", "N/A", None) for v in system.values())
    notes = (out / "export_notes.md").read_text()
    assert "host_processor_caches" in notes and "starting_weights_filename" in notes
    assert "host_processor_model_name" not in notes
    assert "llama3.1-8b/Server TEST06 (compliance test; closed division)" in notes
    assert "not known, fill in: systems/C885_H200x8_TRT.json: status," in printed


def test_v60_puts_measurements_inside_the_scenario_dir(published_results, tmp_path, capsys):
    # The Cisco logs carry v5.1's seeds, so v6.0 refuses them...
    out = tmp_path / "v60"
    rc = main(["export-submission", str(published_results), str(out), "--round", "v6.0",
               "--submitter", "Cisco"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 1
    assert "is a development run: the RNG seeds are not v6.0's" in err
    assert "[rng_seeds]" in err
    assert not out.exists()


def test_demo_runs_are_refused_naming_the_rules(tmp_path, capsys):
    root = tmp_path / "results"
    run = root / "local_20261202_000000"
    cmd = [sys.executable, "-m", "engine.harness.demo", "--output-dir", str(run),
           "--scenario", "Offline", "--total-sample-count", "60", "--speed", "600"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    bench = Benchmark("demo", "true", 60, model="demo", simulated=True)
    spec = RunSpec("d1", "local", "demo", Scenario.OFFLINE, Mode.PERFORMANCE, 60)
    write_run_summary(run, build_run_summary(
        spec=spec, benchmark=bench, run_dir_name=run.name, simulated=True,
        state=RunState.SUCCEEDED, exit_code=0, detail="", start_unix=0.0, end_unix=1.0,
        logs=read_run_logs(run), facts=None, telemetry=None, files=(),
    ))  # fmt: skip
    rc = main(["export-submission", str(root), str(tmp_path / "out"), "--submitter", "Acme"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "local_20261202_000000 (d1) is a development run" in err
    assert "demo is not a benchmark of v6.0 (no MLPerf model named) [benchmark_in_round]" in err
    assert "min_duration 0 ms < 600000 ms (600 s) the round requires [min_duration]" in err
    assert not (tmp_path / "out").exists()


def test_truncation_keeps_head_and_tail_and_hashes_the_original(tmp_path):
    src = tmp_path / "mlperf_log_accuracy.json"
    records = [f'{{ "seq_id" : {i}, "qsl_idx" : {i}, "data" : "{i:064X}" }}' for i in range(400)]
    src.write_text("[\n" + ",\n".join(records) + "\n]\n")
    original = src.read_bytes()
    digest = truncate_accuracy_log(src, tmp_path / "out.json")
    cut = (tmp_path / "out.json").read_bytes()
    assert digest == hashlib.sha256(original).hexdigest()
    assert cut == original[:KEEP_BYTES] + b"\n\n...\n\n" + original[-KEEP_BYTES:]
    assert src.read_bytes() == original  # the original is kept
    # The same shape as a file truncated by the official tool (Cisco's, published).
    published = (CISCO_RUNS / "Server" / "accuracy" / "mlperf_log_accuracy.json").read_bytes()
    assert len(published) == len(cut) and published[KEEP_BYTES : KEEP_BYTES + 7] == b"\n\n...\n\n"


def test_the_official_checker_runs_when_a_checkout_is_configured(published_results, tmp_path,
                                                                 capsys):  # fmt: skip
    checkout = tmp_path / "inference"
    script = checkout / "tools" / "submission" / "submission_checker.py"
    script.parent.mkdir(parents=True)
    script.write_text(
        "import json, sys, pathlib\n"
        "pathlib.Path('args.json').write_text(json.dumps(sys.argv[1:]))\n"
        "print('INFO Results=1, NoResults=0, Power Results=0')\n"
        "print('SUMMARY: submission looks OK')\n"
    )
    out = tmp_path / "submission"
    rc = main(["export-submission", str(published_results), str(out), "--round", "v5.1",
               "--submitter", "Cisco", "--inference-checkout", str(checkout)])  # fmt: skip
    printed = capsys.readouterr().out
    assert rc == 0
    args = json.loads((checkout / "args.json").read_text())
    assert args == ["--input", str(out.resolve()), "--version", "v5.1", "--submitter", "Cisco"]
    assert "submission checker passed (exit 0" in printed
    assert "SUMMARY: submission looks OK" in (out / "checker.log").read_text()
