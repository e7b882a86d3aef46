"""The bundled demo harness: real LoadGen runs against a simulated node.

Every run here is the real `python -m engine.harness.demo` in a subprocess with the real
mlperf_loadgen; assertions read LoadGen's own files. Only the GPU node is simulated (by the
harness itself, which is the point of it). Speeds are high so each run takes about a second.
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.harness.node import SimulatedNode, SlotSchedule
from engine.harness.settings import keys_set_for, parse_conf
from engine.loadgen.parse import read_run_logs
from tests.support.paths import REPO_ROOT

REPO = REPO_ROOT
PROGRESS = re.compile(r"progress (?P<completed>\d+)/(?P<total>\d+)")


@dataclass(frozen=True)
class Run:
    rc: int
    stdout: str
    stderr: str
    out: Path
    wall_s: float

    @property
    def summary(self) -> str:
        path = self.out / "mlperf_log_summary.txt"
        return path.read_text() if path.exists() else ""

    @property
    def detail(self) -> dict[str, object]:
        """First value of each key in LoadGen's detail log."""
        values: dict[str, object] = {}
        for line in (self.out / "mlperf_log_detail.txt").read_text().splitlines():
            if line.startswith(":::MLLOG "):
                entry = json.loads(line[len(":::MLLOG ") :])
                values.setdefault(entry["key"], entry["value"])
        return values

    @property
    def progress(self) -> list[tuple[int, int]]:
        return [
            (int(m["completed"]), int(m["total"]))
            for m in map(PROGRESS.match, self.stdout.splitlines())
            if m
        ]

    def metric(self, label: str) -> float:
        """A number from the summary, e.g. `Samples per second`."""
        m = re.search(rf"^{re.escape(label)}\s*:\s*(\S+)$", self.summary, re.MULTILINE)
        assert m, f"{label!r} not in summary:\n{self.summary}"
        return float(m.group(1))


def start(tmp_path: Path, *args: str, name: str = "out") -> tuple[subprocess.Popen, Path, float]:
    out = tmp_path / name
    cmd = [sys.executable, "-m", "engine.harness.demo", "--output-dir", str(out), *args]
    proc = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, out, time.monotonic()


def finish(proc: subprocess.Popen, out: Path, t0: float, timeout: float = 30) -> Run:
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return Run(proc.returncode, stdout, stderr, out, time.monotonic() - t0)


def flags(**options: object) -> list[str]:
    """The harness's command-line flags: `total_sample_count=60` is `--total-sample-count 60`,
    `trace=True` is `--trace`."""
    out: list[str] = []
    for key, value in options.items():
        out.append("--" + key.replace("_", "-"))
        if value is not True:
            out.append(str(value))
    return out


def harness(tmp_path: Path, *args: str, name: str = "out", timeout: float = 30) -> Run:
    proc, out, t0 = start(tmp_path, *args, name=name)
    return finish(proc, out, t0, timeout)


def assert_complete(run: Run) -> None:
    assert run.rc == 0, run.stderr
    assert "Traceback" not in run.stderr
    first = run.stdout.splitlines()[0]
    assert "SIMULATED" in first and "no GPU" in first
    assert "Result is : " in run.summary
    assert run.detail["num_errors"] == 0
    # LoadGen's summary is copied to stdout, after the progress lines.
    assert "MLPerf Results Summary" in run.stdout
    assert run.stdout.index("progress ") < run.stdout.index("MLPerf Results Summary")


def assert_progress(run: Run, total: int) -> None:
    lines = run.progress
    assert lines, run.stdout
    assert all(t == total for _, t in lines)
    completed = [c for c, _ in lines]
    assert completed == sorted(completed) and completed[-1] == total
    # A line each time a multiple of total // 20 is crossed: about 20 lines, never more than
    # one per multiple (56 samples: every 2, so up to 28 lines when samples finish one by one).
    every = max(1, total // 20)
    assert 10 <= len(lines) <= total // every + 1
    for line in run.stdout.splitlines():
        if line.startswith("progress "):
            assert re.fullmatch(r"progress \d+/\d+ samples", line)


# --- one run per scenario ------------------------------------------------------------------


def test_offline_run_issues_exactly_the_requested_samples_at_the_simulated_speed(tmp_path):
    run = harness(
        tmp_path, *flags(scenario="Offline", total_sample_count=300, speed=200, shard_start=1000)
    )
    assert_complete(run)
    first = run.stdout.splitlines()[0]
    assert "scenario Offline" in first and "300 samples" in first
    assert "shard [1000, 1300)" in first and "200 samples/s" in first
    d = run.detail
    assert d["result_query_count"] == 1
    assert d["generated_samples_per_query"] == 300
    assert d["effective_performance_sample_count"] == 300
    assert d["effective_min_duration_ms"] == 0
    assert d["result_validity"] == "VALID"
    assert (run.out / "mlperf_log_trace.json").stat().st_size == 0  # --trace is off
    assert run.metric("Samples per second") == pytest.approx(200, rel=0.25)
    assert d["result_samples_per_second"] == pytest.approx(200, rel=0.25)
    assert_progress(run, 300)
    assert run.wall_s < 10


def test_server_run_issues_n_queries_at_the_target_qps(tmp_path):
    run = harness(
        tmp_path, *flags(scenario="Server", total_sample_count=200, speed=200, target_qps=150)
    )
    assert_complete(run)
    d = run.detail
    assert d["generated_query_count"] == 200
    assert d["result_query_count"] == 200
    assert d["effective_target_qps"] == 150
    # Poisson arrivals: 200 of them take 200/150 s give or take ~7%.
    assert run.metric("Completed samples per second") == pytest.approx(150, rel=0.25)
    assert_progress(run, 200)


def test_singlestream_has_one_sample_in_flight_so_latency_is_the_service_time(tmp_path):
    # concurrency 2 at 50 samples/s: 40 ms per sample, one at a time -> 25 queries/s. (Long
    # enough that a loaded machine's few ms of wake-up delay stay inside the tolerance.)
    run = harness(
        tmp_path,
        *flags(scenario="SingleStream", total_sample_count=60, speed=50, concurrency=2, trace=True),
    )
    assert_complete(run)
    d = run.detail
    assert d["result_query_count"] == 60
    assert '{"name":"Sample"' in (run.out / "mlperf_log_trace.json").read_text()
    assert run.metric("QPS w/o loadgen overhead") == pytest.approx(25, rel=0.25)
    assert run.metric("Mean latency (ns)") == pytest.approx(40e6, rel=0.25)
    assert_progress(run, 60)


def test_multistream_rounds_a_partial_query_up_to_eight_samples(tmp_path):
    # 50 samples -> ceil(50/8) = 7 queries of 8 = 56 samples; each query is two rounds of the
    # 4 slots at 80 ms per sample = 160 ms.
    run = harness(tmp_path, *flags(scenario="MultiStream", total_sample_count=50, speed=50))
    assert_complete(run)
    d = run.detail
    assert d["result_query_count"] == 7
    assert d["generated_samples_per_query"] == 8
    assert d["result_mean_query_latency_ns"] == pytest.approx(160e6, rel=0.25)
    assert_progress(run, 56)


# --- accuracy and tokens ------------------------------------------------------------------


def test_accuracy_mode_logs_every_sample_once_with_its_dataset_index(tmp_path):
    run = harness(
        tmp_path, *flags(mode="accuracy", total_sample_count=40, speed=400, shard_start=500)
    )
    assert run.rc == 0, run.stderr
    assert "Result is" not in run.summary  # LoadGen writes no result in accuracy mode
    assert "result_validity" not in run.detail
    entries = json.loads((run.out / "mlperf_log_accuracy.json").read_text())
    assert sorted(e["qsl_idx"] for e in entries) == list(range(40))
    for e in entries:
        raw = bytes.fromhex(e["data"])
        assert len(raw) >= 16
        # The first int64 of the fake output is the dataset index: shard start + QSL index.
        assert struct.unpack_from("<q", raw)[0] == 500 + e["qsl_idx"]
    assert run.progress[-1] == (40, 40)


def test_token_run_reports_tokens_per_second_ttft_and_tpot(tmp_path):
    # 20 ms per sample, first token after 5 ms, then 7 more tokens 15/7 ms apart.
    run = harness(
        tmp_path,
        *flags(scenario="Server", total_sample_count=100, speed=200, target_qps=100, tokens=8),
    )
    assert_complete(run)
    d = run.detail
    assert d["requested_use_token_latencies"] is True
    samples_per_s = run.metric("Completed samples per second")
    assert run.metric("Completed tokens per second") == pytest.approx(8 * samples_per_s, rel=0.1)
    assert run.metric("Min First Token latency (ns)") >= 5e6 * 0.9
    assert run.metric("Mean Time per Output Token (ns)") == pytest.approx(15e6 / 7, rel=0.25)


# --- user.conf ----------------------------------------------------------------------------


def test_user_conf_overrides_harness_defaults_and_progress_follows_loadgen(tmp_path):
    conf = tmp_path / "user.conf"
    conf.write_text(
        "# a user's settings\n"
        "demo.Server.target_qps = 120\n"
        "*.Server.min_query_count = 40\n"
        "*.Offline.min_query_count = 7\n"  # another scenario: must not count as an override
        "*.*.print_timestamps=1\n"  # no spaces: LoadGen ignores it, the harness warns
    )
    run = harness(
        tmp_path,
        "--scenario",
        "Server",
        "--total-sample-count",
        "60",
        "--speed",
        "200",
        "--user-conf",
        str(conf),
    )
    assert_complete(run)
    d = run.detail
    assert d["effective_target_qps"] == 120
    assert d["result_query_count"] == 40
    assert d["effective_min_duration_ms"] == 0  # the harness default still applies
    assert "user.conf overrides: min_query_count, target_qps" in run.stdout
    assert run.progress[-1] == (40, 40)  # the total came from LoadGen's detail log
    assert f"LoadGen ignores {conf}:5 without a word" in run.stderr


def test_a_user_conf_that_repeats_a_harness_default_keeps_the_count_known(tmp_path):
    conf = tmp_path / "user.conf"
    conf.write_text("demo.Offline.min_duration = 0\n")  # as configs/demo.toml does
    run = harness(
        tmp_path, "--total-sample-count", "30", "--speed", "400", "--user-conf", str(conf)
    )
    assert_complete(run)
    assert "expect 30 samples; user.conf overrides: min_duration" in run.stdout
    assert run.progress[-1] == (30, 30)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("demo.Server.target_qps = fast\n", "line 1: value needs to be integer or double"),
        ("\n*.*.min_duration = 5 # five seconds\n", "line 2: value needs to be integer"),
        ("*.*.min_duration : 5\n", "line 1: expected 'key=value'"),
    ],
)
def test_a_user_conf_loadgen_rejects_exits_2_before_running(tmp_path, text, reason):
    conf = tmp_path / "bad.conf"
    conf.write_text(text)
    run = harness(tmp_path, "--total-sample-count", "20", "--user-conf", str(conf))
    assert run.rc == 2
    assert "SIMULATED" in run.stdout.splitlines()[0]
    assert "FromConfig returned -22" in run.stderr and reason in run.stderr
    assert "Traceback" not in run.stderr
    assert not (run.out / "mlperf_log_summary.txt").exists()


def test_missing_user_conf_exits_2(tmp_path):
    run = harness(tmp_path, "--total-sample-count", "20", "--user-conf", "nope.conf")
    assert run.rc == 2 and "nope.conf does not exist" in run.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--total-sample-count", "10", "--scenario", "Interactive"],
        ["--total-sample-count", "0"],
        ["--total-sample-count", "10", "--speed", "0"],
        ["--total-sample-count", "10", "--tokens", "1"],
        ["--speed", "10"],
    ],
)
def test_bad_arguments_exit_2(tmp_path, args):
    run = harness(tmp_path, *args)
    assert run.rc == 2 and "Traceback" not in run.stderr


# --- ends that the orchestrator must tell apart --------------------------------------------


def test_exit_code_after_a_complete_summary_and_load_time_outside_loadgen(tmp_path):
    run = harness(
        tmp_path, *flags(total_sample_count=40, speed=400, exit_code_after=7, load_time=0.5)
    )
    assert run.rc == 7
    assert "Result is : VALID" in run.summary and run.detail["num_errors"] == 0
    # The reader the orchestrator uses agrees: LoadGen finished, whatever the exit code.
    logs = read_run_logs(run.out)
    assert logs.complete and logs.samples_processed == 40
    assert "on purpose" in run.stderr
    assert run.wall_s >= 0.5
    # LoadGen's clock starts after the simulated loading: 40 samples at 400/s take ~0.1 s.
    assert run.detail["result_max_latency_ns"] < 0.4e9


def test_crash_after_leaves_an_incomplete_run(tmp_path):
    run = harness(
        tmp_path, *flags(total_sample_count=100, speed=400, crash_after=10, progress_every=5)
    )
    assert run.rc == 3
    assert "Result is" not in run.summary
    assert "num_errors" not in run.detail
    assert not read_run_logs(run.out).complete
    assert run.progress[-1] == (10, 100)
    assert "crashing on purpose" in run.stderr


def test_a_reader_that_goes_away_does_not_stop_the_run(tmp_path):
    # A console that stops reading (closed pipe) must not kill the SUT thread: LoadGen would
    # then wait forever for samples nobody completes.
    proc, out, t0 = start(tmp_path, "--total-sample-count", "100", "--speed", "400")
    assert proc.stdout is not None
    assert "SIMULATED" in proc.stdout.readline()
    proc.stdout.close()
    try:
        _, stderr = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "Result is : VALID" in (out / "mlperf_log_summary.txt").read_text()


def test_two_harnesses_at_once_keep_their_speeds_and_sleep(tmp_path):
    before = os.times()
    a = start(tmp_path, "--total-sample-count", "400", "--speed", "200", name="a")
    b = start(
        tmp_path, "--total-sample-count", "400", "--speed", "200", "--concurrency", "8", name="b"
    )
    runs = [finish(*a), finish(*b)]
    after = os.times()
    for run in runs:
        assert_complete(run)
        assert run.metric("Samples per second") == pytest.approx(200, rel=0.10)
    # ~2 s of LoadGen time each; sleeping workers use a small fraction of it.
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    assert cpu < 1.5, f"two 2-second runs used {cpu:.2f} s of CPU"


# --- pure parts ---------------------------------------------------------------------------


def test_parse_conf_follows_loadgen_tokenising():
    parsed = parse_conf(
        "# comment\n"
        "gptj.Server.target_qps = 4.5\n"
        "*.*.min_duration = 0x10\n"
        "demo.*.min_query_count=3\n"
        "*.Offline.target_qps = 1 # trailing note\n"
    )
    assert [(a.model, a.scenario, a.name, a.value) for a in parsed.assignments] == [
        ("gptj", "Server", "target_qps", "4.5"),
        ("*", "*", "min_duration", "0x10"),
    ]
    assert parsed.ignored == (4,)
    assert parsed.errors == ((5, "value needs to be integer or double"),)
    assert keys_set_for(parsed.assignments, "demo", "Server") == {"min_duration"}
    assert keys_set_for(parsed.assignments, "gptj", "Server") == {"min_duration", "target_qps"}


def test_slots_give_the_node_its_speed():
    node = SimulatedNode(speed=100.0, concurrency=4, seed=3)
    schedule = SlotSchedule(node)
    timings = [schedule.admit(0.0) for _ in range(400)]
    assert max(t.done for t in timings) == pytest.approx(4.0, rel=0.03)  # 400 samples / 100/s
    assert all(t.first_token == t.start for t in timings)
    tokens = SimulatedNode(speed=100.0, concurrency=4, tokens=5)
    assert tokens.ttft_s == pytest.approx(0.01) and tokens.tpot_s == pytest.approx(0.0075)
