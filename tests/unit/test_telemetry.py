"""GPU telemetry without a GPU: the parser against nvidia-smi output real machines printed
(tests/data/nvidia-smi, sources in SOURCES.md), failure classes from real error messages, the
real pynvml on this GPU-less machine (the real no-driver path), telemetry.csv round trips and
the statistics a run summary records.

The only stand-in is tests/support/doubles/nvidia-smi (no GPU exists here): a shell script printing
made-up numbers in nvidia-smi's format, used where a running stream is needed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.events import EventBus, TelemetrySampled
from engine.model import GpuSample, NodeSpec
from engine.telemetry import (
    FIELDS,
    HEADER,
    NvmlSampler,
    RunTelemetry,
    TelemetryBatch,
    TelemetryRecorder,
    TelemetryStats,
    classify_failure,
    parse_line,
    read_state,
    read_telemetry,
    sample_node,
    stream_argv,
    summarize,
    write_no_telemetry,
)
from engine.telemetry.nvsmi import parse_header, parse_number, parse_timestamp, query_argv
from engine.transport.local import LocalTransport
from tests.support.paths import DATA as TEST_DATA
from tests.support.paths import DOUBLES_DIR, REPO_ROOT

pytestmark = pytest.mark.timeout(60)

DATA = TEST_DATA / "nvidia-smi"
NO_GPU_HERE = not any(Path(p).exists() for p in ("/dev/nvidiactl", "/dev/nvidia0"))


def lines(name: str) -> list[str]:
    return [li for li in (DATA / name).read_text().splitlines() if li.strip()]


# --- the parser, on real output ----------------------------------------------------------------


def test_stream_command_line() -> None:
    assert stream_argv(250) == [
        "nvidia-smi",
        "--query-gpu=timestamp,index,name,utilization.gpu,memory.used,memory.total,"
        "temperature.gpu,power.draw,clocks.sm",
        "--format=csv,noheader,nounits",
        "-lms",
        "250",
    ]
    assert query_argv()[:3] == stream_argv(1)[:3] and "-lms" not in query_argv()


def test_eight_gpus_nounits_gpustat_capture() -> None:
    fields = ("index", "uuid", "name", "temperature.gpu", "utilization.gpu", "memory.used",
              "memory.total")  # fmt: skip
    got = [parse_line(li, "n", fields=fields, ts=100.0) for li in lines("titanx8_gpustat5.csv")]
    assert all(s is not None for s in got)
    assert [s.gpu for s in got] == list(range(8))
    assert [s.utilization_pct for s in got] == [0, 86, 85, 60, 84, 83, 83, 82]
    assert [s.memory_used_mib for s in got][:3] == [802, 10032, 6442]
    assert {s.memory_total_mib for s in got} == {12206}
    assert got[3].temperature_c == 58 and got[0].name == "GeForce GTX TITAN X"
    assert {s.power_w for s in got} == {None}  # not queried: unknown, not 0
    assert {s.ts for s in got} == {100.0}
    # Without a timestamp field and without a ts to use, a row has no time: refused.
    assert parse_line(lines("titanx8_gpustat5.csv")[0], "n", fields=fields) is None


def test_a100_loop_with_units_each_gpu_line_has_its_own_time() -> None:
    header, *rows = lines("a100x3_omniopt.csv")
    fields = parse_header(header)
    assert fields[8:] == ("utilization.gpu", "utilization.memory", "memory.total",
                          "memory.free", "memory.used")  # fmt: skip
    cells = [[c.strip() for c in r.split(",")] for r in rows]
    stamps = [parse_timestamp(c[0], UTC) for c in cells]
    assert stamps[0] == datetime(2024, 6, 1, 11, 27, 5, 177000, tzinfo=UTC).timestamp()
    # One tick, three GPUs, three different stamps: ticks cannot be grouped by timestamp.
    assert len(set(stamps[:3])) == 3 and stamps[3] - stamps[0] == pytest.approx(10.132)
    assert [parse_number(c[8]) for c in cells] == [0, 0, 0, 3, 3, 3, 3, 1]
    assert [parse_number(c[12]) for c in cells][3] == 38803
    assert parse_number(cells[0][10]) == 40960
    # This capture queried no `index`: a row that does not name its GPU is refused.
    assert parse_line(rows[0], "n", fields=fields) is None


def test_header_and_values_with_units_bpytop_capture() -> None:
    header, *rows = lines("gtx1080ti_bpytop26.csv")
    fields = parse_header(header)
    assert fields[:7] == ("name", "fan.speed", "memory.total", "memory.used", "utilization.gpu",
                          "temperature.gpu", "power.draw")  # fmt: skip
    cells = [c.strip() for c in rows[0].split(",")]
    assert [parse_number(c) for c in cells[1:]] == [29, 11175, 2856, 36, 60, 106.56, 1936, 5508]
    assert parse_number(rows[1].split(",")[6]) == 5.68


def test_not_supported_cells_megaminer_capture() -> None:
    cells = [c.strip() for c in lines("gtx770_megaminer235.csv")[0].split(",")]
    assert cells[1] == "[Not Supported]"
    values = [parse_number(c) for c in cells[1:]]
    assert values == [None, None, 52, None, None, 52, None, None, None, None, None]


def test_mig_enabled_gpus_have_no_utilization() -> None:
    table = (DATA / "mig_a800_exporter203.txt").read_text()
    assert "36537MiB / 81920MiB |     N/A" in table  # the capture the rows were taken from
    fields = ("index", "name", "utilization.gpu", "memory.used", "memory.total",
              "temperature.gpu", "power.draw")  # fmt: skip
    a800, a100 = (parse_line(li, "n", fields=fields, ts=1.0) for li in lines("mig_transcribed.csv"))
    assert a800 is not None and a100 is not None
    assert (a800.gpu, a800.utilization_pct, a800.memory_used_mib) == (0, None, 36537)
    assert (a800.power_w, a800.temperature_c) == (87, 33)
    assert (a100.gpu, a100.utilization_pct, a100.memory_used_mib, a100.memory_total_mib) == (
        3, None, None, None)  # fmt: skip


@pytest.mark.parametrize(
    "token", ["[N/A]", "N/A", "[Not Supported]", "[Unknown Error]", "[GPU requires reset]", ""]
)
def test_every_unreadable_cell_is_none_in_our_query(token: str) -> None:
    line = f"2026/11/29 10:15:42.123, 2, NVIDIA H100 80GB HBM3, {token}, {token}, 81559, " \
        f"{token}, {token}, {token}"  # fmt: skip
    s = parse_line(line, "gpu-a", tz=UTC)
    assert s is not None and (s.node, s.gpu, s.memory_total_mib) == ("gpu-a", 2, 81559)
    assert s.ts == datetime(2026, 11, 29, 10, 15, 42, 123000, tzinfo=UTC).timestamp()
    fields = ("utilization_pct", "memory_used_mib", "temperature_c", "power_w", "sm_clock_mhz")
    assert [getattr(s, f) for f in fields] == [None] * 5


def test_extra_spaces_and_our_own_query() -> None:
    s = parse_line("  2026/11/29 10:15:42.123 ,  0 ,  NVIDIA H200 ,  97 , 70123 , 143771 ,"
                   " 61 , 612.40 , 1980  ", "n", tz=UTC)  # fmt: skip
    assert s == GpuSample(
        ts=datetime(2026, 11, 29, 10, 15, 42, 123000, tzinfo=UTC).timestamp(),
        node="n", gpu=0, utilization_pct=97, memory_used_mib=70123, memory_total_mib=143771,
        temperature_c=61, power_w=612.40, sm_clock_mhz=1980, name="NVIDIA H200",
    )  # fmt: skip


@pytest.mark.parametrize(
    "line",
    [
        "",
        "   ",
        ", ".join(FIELDS),  # a header
        "timestamp, index, name, utilization.gpu [%], memory.used [MiB], memory.total [MiB], "
        "temperature.gpu, power.draw [W], clocks.sm [MHz]",
        "No devices were found",
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
        "2026/11/29 10:15:42.123, 0, NVIDIA H100, 45, 1024",  # cut short
        "2026/11/29 10:15:42.123, 0, NVIDIA H100, 45, 1024, 81559, 34, 70.11, 1755, extra",
        "2026/11/29 10:15:42.123, [N/A], NVIDIA H100, 45, 1024, 81559, 34, 70.11, 1755",
        "2026/11/29 10:15:42.123, -1, NVIDIA H100, 45, 1024, 81559, 34, 70.11, 1755",
        "yesterday, 0, NVIDIA H100, 45, 1024, 81559, 34, 70.11, 1755",
        '2026/11/29 10:15:42.123, 0, "NVIDIA H100, 45, 1024, 81559, 34, 70.11, 1755',
        "\x00\xff garbage \u2603",
    ],
)
def test_lines_that_are_not_gpu_rows_are_none(line: str) -> None:
    assert parse_line(line, "n") is None


def test_values_out_of_range_are_dropped_not_clamped() -> None:
    s = parse_line("2026/11/29 10:15:42.123, 0, X, 140, -5, 81559, nan, inf, 1755", "n")
    assert s is not None
    assert (s.utilization_pct, s.memory_used_mib, s.temperature_c, s.power_w) == (None,) * 4
    assert s.sm_clock_mhz == 1755


# --- failure classes, from real messages -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "exit_status", "state"),
    [
        ("no_driver.txt", 9, "no-driver"),
        ("no_driver.txt", None, "no-driver"),
        ("no_driver_curly_quote.txt", None, "no-driver"),
        ("no_devices.txt", 6, "no-driver"),
        ("nvml_mismatch.txt", 18, "no-driver"),
        ("nvml_no_supported_gpus.txt", 255, "no-driver"),
        ("command_not_found.txt", 127, "no-nvidia-smi"),
        ("command_not_found.txt", None, "no-nvidia-smi"),
        ("device_handle_unknown_error.txt", 255, "error"),
    ],
)
def test_classify_failure_on_real_messages(name: str, exit_status: int | None, state: str) -> None:
    assert classify_failure((DATA / name).read_text(), exit_status) == state


def test_classify_failure_by_exit_status_alone() -> None:
    assert classify_failure("", 127) == "no-nvidia-smi"
    assert classify_failure("", 9) == "no-driver"
    assert classify_failure("", 12) == "no-driver"
    assert classify_failure("", 2) == "error"
    assert classify_failure('Field "clocks.sm" is not a valid field to query.', 2) == "error"


def test_classify_failure_on_this_machines_missing_nvidia_smi() -> None:
    """This machine has no nvidia-smi: what sh and env really print here is 'no-nvidia-smi'."""
    path = "/usr/bin:/bin"
    for argv in (["sh", "-c", "nvidia-smi"], ["env", "TZ=UTC", "nvidia-smi"]):
        res = subprocess.run(argv, capture_output=True, text=True, env={"PATH": path})
        assert res.returncode == 127
        assert classify_failure(res.stdout + res.stderr, res.returncode) == "no-nvidia-smi"
        assert classify_failure(res.stdout + res.stderr, None) == "no-nvidia-smi"


# --- NVML on this machine: the real no-driver path ---------------------------------------------


@pytest.mark.skipif(not NO_GPU_HERE, reason="this machine has an NVIDIA device")
def test_nvml_sampler_without_a_driver_says_so_and_samples_nothing() -> None:
    sampler = NvmlSampler()
    assert sampler.open() == "no-driver"
    assert "LibraryNotFound" in sampler.detail or "DriverNotLoaded" in sampler.detail
    assert sampler.sample("ctl") == []
    assert sampler.processes() == []
    sampler.close()
    sampler.close()


def test_importing_telemetry_does_not_import_pynvml() -> None:
    code = "import sys, engine.telemetry; print('pynvml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO_ROOT, check=True)  # fmt: skip
    assert out.stdout.strip() == "False"


@pytest.mark.skipif(not NO_GPU_HERE, reason="this machine has an NVIDIA device")
async def test_local_node_yields_one_no_driver_batch_then_stops() -> None:
    node = NodeSpec(name="ctl")
    got = []

    async def collect() -> None:
        async for batch in sample_node(LocalTransport(node), node, 0.05):
            got.append(batch)

    await asyncio.wait_for(collect(), 10)
    assert len(got) == 1
    assert (got[0].node, got[0].state, got[0].samples) == ("ctl", "no-driver", ())
    assert "NVML" in got[0].detail


@pytest.mark.skipif(not NO_GPU_HERE, reason="this machine has an NVIDIA device")
async def test_run_telemetry_on_a_gpu_less_controller(tmp_path: Path) -> None:
    bus, seen = EventBus(), []
    bus.add_listener(seen.append)
    node = NodeSpec(name="ctl")
    handle = await RunTelemetry.start(LocalTransport(node), node, tmp_path, 0.05, bus)
    await asyncio.sleep(0.3)
    summary = await handle.stop()
    assert summary["state"] == "no-driver" and "NVML" in summary["detail"]
    assert (summary["samples"], summary["gpus"]) == (0, [])
    assert await handle.stop() is summary
    events = [e for e in seen if isinstance(e, TelemetrySampled)]
    assert [(e.node, e.state, e.samples) for e in events] == [("ctl", "no-driver", ())]
    assert (tmp_path / "telemetry.csv").read_text() == ",".join(HEADER) + "\n"
    state = read_state(tmp_path)
    assert state is not None and (state["state"], state["samples"]) == ("no-driver", 0)


# --- telemetry.csv and the state file ----------------------------------------------------------


def sample(ts: float, gpu: int = 0, util: float | None = 50.0, **kw: object) -> GpuSample:
    return GpuSample(ts=ts, node=kw.pop("node", "n1"), gpu=gpu, utilization_pct=util, **kw)


def test_recorder_round_trip_keeps_none_and_values(tmp_path: Path) -> None:
    path = tmp_path / "run" / "telemetry.csv"
    written = [
        sample(1795947342.123, 0, 97.0, memory_used_mib=70123.0, memory_total_mib=143771.0,
               temperature_c=61.0, power_w=612.4, sm_clock_mhz=1980.0, name="NVIDIA H200"),
        sample(1795947342.125, 1, None, memory_used_mib=3.0, name="NVIDIA, with comma"),
        sample(1795947343.5, 0, 0.0, power_w=70.11),
    ]  # fmt: skip
    with TelemetryRecorder(path) as rec:
        rec.write(written[:2])
        assert read_telemetry(path) == written[:2]  # flushed per batch, readable mid-run
        rec.write(written[2:])
    assert read_telemetry(path) == written
    assert path.read_text().splitlines()[0] == ",".join(HEADER)
    assert path.read_text().splitlines()[2].endswith(",,,")  # None is an empty cell, not 0
    # Re-attach: a second recorder appends without a second header.
    with TelemetryRecorder(path) as rec:
        rec.write([sample(1795947344.0, 0, 12.5)])
    text = path.read_text()
    assert text.count("ts,node") == 1 and len(read_telemetry(path)) == 4


def test_reader_skips_a_row_cut_short_by_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.csv"
    with TelemetryRecorder(path) as rec:
        rec.write([sample(10.0), sample(11.0)])
    with path.open("a") as f:
        f.write("12.000,n1,0,,5")  # the writer died mid-row
    assert [s.ts for s in read_telemetry(path)] == [10.0, 11.0]
    assert read_telemetry(tmp_path / "missing.csv") == []


def test_no_telemetry_record(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.csv"
    state_path = write_no_telemetry(path, "gpu-b", "no-nvidia-smi", "nvidia-smi: not found")
    assert path.read_text() == ",".join(HEADER) + "\n"
    assert read_telemetry(path) == []
    assert json.loads(state_path.read_text())["state"] == "no-nvidia-smi"
    state = read_state(path)
    assert state is not None
    assert (state["node"], state["detail"], state["samples"]) == (
        "gpu-b", "nvidia-smi: not found", 0)  # fmt: skip
    assert read_state(tmp_path / "elsewhere" / "telemetry.csv") is None


# --- statistics ---------------------------------------------------------------------------------


def test_summarize_math() -> None:
    gpu0 = [sample(100.0 + i, 0, float(u), memory_used_mib=1000.0 + 10 * i,
                   memory_total_mib=81559.0, name="H100")
            for i, u in enumerate(range(1, 21))]  # fmt: skip
    gpu0.append(sample(99.0, 0, None, memory_used_mib=5000.0))  # MIG-like gap in utilization
    gpu1 = [sample(100.0 + i, 1, None) for i in range(3)]  # never reports utilization
    other = [sample(100.0, 0, 80.0, node="n2")]
    out = summarize(gpu1 + other + gpu0)
    assert (out["state"], out["detail"], out["samples"]) == ("ok", "", 25)
    g0, g1, n2 = out["gpus"]
    assert (g0["node"], g0["gpu"], g0["name"]) == ("n1", 0, "H100")
    assert (g0["samples"], g0["util_samples"]) == (21, 20)
    assert g0["util_mean"] == pytest.approx(10.5)
    assert g0["util_p95"] == 19.0  # nearest rank: ceil(0.95 * 20) = the 19th of 1..20
    assert g0["util_max"] == 20.0
    assert (g0["mem_peak_mib"], g0["mem_total_mib"]) == (5000.0, 81559.0)
    assert (g0["first_ts"], g0["last_ts"]) == (99.0, 119.0)
    assert (g1["samples"], g1["util_samples"], g1["util_mean"], g1["util_p95"]) == (
        3, 0, None, None)  # fmt: skip
    assert (g1["util_max"], g1["mem_peak_mib"], g1["name"]) == (None, None, None)
    assert (n2["node"], n2["util_p95"], n2["util_mean"]) == ("n2", 80.0, 80.0)


def test_p95_nearest_rank_small_counts() -> None:
    assert TelemetryStats.of([sample(1.0, 0, 7.0)]).util_p95 == 7.0
    ten = [sample(float(i), 0, float(u)) for i, u in enumerate([5, 1, 9, 3, 7, 2, 8, 4, 6, 10])]
    assert TelemetryStats.of(ten).util_p95 == 10.0  # ceil(9.5) = 10th of 10
    assert TelemetryStats.of(ten).util_mean == 5.5


def test_summarize_nothing() -> None:
    assert summarize([]) == {"state": "no samples", "detail": "", "samples": 0, "gpus": []}
    assert summarize([], state="no-driver", detail="x")["state"] == "no-driver"


# --- the nvidia-smi stream path, through the local transport and the test double ---------------


@pytest.fixture
def double_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put the nvidia-smi TEST DOUBLE first on PATH (no GPU exists here)."""
    monkeypatch.setenv("PATH", f"{DOUBLES_DIR}:/usr/bin:/bin")
    monkeypatch.delenv("NVSMI_DOUBLE_MODE", raising=False)


async def first_batches(node: NodeSpec, count: int | None, interval_s: float = 0.1) -> list:
    """The stream's first `count` batches (None: every batch, until the stream stops)."""
    got: list[TelemetryBatch] = []
    stream = sample_node(LocalTransport(node), node, interval_s, source="nvidia-smi")
    async with asyncio.timeout(20):
        async for batch in stream:
            got.append(batch)
            if len(got) == count:
                break
    await stream.aclose()
    return got


@pytest.mark.usefixtures("double_on_path")
async def test_stream_batches_one_tick_with_every_gpu() -> None:
    node = NodeSpec(name="n1")
    t0 = time.time()
    batches = await first_batches(node, 3)
    assert [b.state for b in batches] == ["ok"] * 3
    for b in batches:
        assert [s.gpu for s in b.samples] == [0, 1]
        assert b.samples[1].utilization_pct is None  # the double's GPU 1 prints [N/A]
        assert b.samples[0].memory_total_mib == 81559 and b.samples[0].name
        assert all(t0 - 2 < s.ts < time.time() + 2 for s in b.samples)  # TZ=UTC honoured
    ticks = [b.samples[0].ts for b in batches]
    assert ticks == sorted(ticks) and ticks[2] - ticks[0] >= 0.15


@pytest.mark.usefixtures("double_on_path")
async def test_stream_samples_only_the_configured_gpus() -> None:
    batches = await first_batches(NodeSpec(name="n1", gpus=(1,)), 2)
    assert [[s.gpu for s in b.samples] for b in batches] == [[1], [1]]
    none = await first_batches(NodeSpec(name="n1", gpus=(5,)), 1)
    assert none[0].state == "error" and "gpus [5]" in none[0].detail


@pytest.mark.usefixtures("double_on_path")
async def test_stream_on_a_node_without_a_driver_yields_one_batch_and_stops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NVSMI_DOUBLE_MODE", "no-driver")
    got = await first_batches(NodeSpec(name="n1"), None)
    assert [(b.state, b.samples) for b in got] == [("no-driver", ())]
    assert got[0].detail.startswith("NVIDIA-SMI has failed")


async def test_stream_on_a_node_without_nvidia_smi(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # the real absence on this machine
    got = await first_batches(NodeSpec(name="n1"), None)
    assert [(b.state, b.samples) for b in got] == [("no-nvidia-smi", ())]
    assert "nvidia-smi" in got[0].detail


async def test_node_printing_local_time_despite_tz_utc_is_corrected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node whose nvidia-smi ignored TZ=UTC (here: the double forced to UTC+5:30) would put
    every reading 5.5 h off; the sampler notices on the first tick and shifts them back."""
    wrapper = tmp_path / "bin" / "nvidia-smi"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nTZ="IST-5:30" exec {DOUBLES_DIR}/nvidia-smi "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrapper.parent}:/usr/bin:/bin")
    t0 = time.time()
    batches = await first_batches(NodeSpec(name="n1"), 2)
    assert all(b.state == "ok" and "+5.5 h" in b.detail for b in batches)
    assert all(t0 - 2 < s.ts < time.time() + 2 for b in batches for s in b.samples)


@pytest.mark.usefixtures("double_on_path")
async def test_run_telemetry_records_the_stream(tmp_path: Path) -> None:
    seen: list[TelemetryBatch] = []
    node = NodeSpec(name="n1")
    handle = await RunTelemetry.start(
        LocalTransport(node), node, tmp_path, 0.1, seen.append, source="nvidia-smi"
    )
    for _ in range(100):
        if len(seen) >= 4:
            break
        await asyncio.sleep(0.05)
    summary = await handle.stop()
    recorded = read_telemetry(tmp_path / "telemetry.csv")
    assert summary["state"] == "ok" and summary["samples"] == len(recorded) >= 8
    assert recorded == [s for b in seen for s in b.samples]
    g0, g1 = summary["gpus"]
    assert g0["util_samples"] == g0["samples"] and g0["util_mean"] is not None
    assert (g1["util_samples"], g1["util_mean"], g1["mem_peak_mib"]) == (0, None, 3)
    state = read_state(tmp_path / "telemetry.csv")
    assert state is not None and state["state"] == "ok" and state["samples"] == len(recorded)


# --- the probe script ---------------------------------------------------------------------------


@pytest.mark.skipif(not NO_GPU_HERE, reason="this machine has an NVIDIA device")
def test_gpu_probe_on_a_machine_without_gpu(tmp_path: Path) -> None:
    out = tmp_path / "probe.txt"
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    res = subprocess.run(
        [sys.executable, "bench/gpu_probe.py", "--seconds", "1", "--out", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "nvml.state: no-driver" in res.stdout
    assert "nvsmi.state: no-nvidia-smi" in res.stdout
    assert "result: no NVIDIA GPU on this machine" in res.stdout
    assert out.read_text() == res.stdout


def test_gpu_probe_reads_the_stream_of_the_double(tmp_path: Path) -> None:
    """With the nvidia-smi TEST DOUBLE on PATH the probe's nvidia-smi half runs end to end
    (its numbers are the double's, made up); NVML still finds no driver here."""
    out = tmp_path / "probe.txt"
    env = {**os.environ, "PATH": f"{DOUBLES_DIR}:/usr/bin:/bin"}
    env.pop("NVSMI_DOUBLE_MODE", None)
    res = subprocess.run(
        [sys.executable, "bench/gpu_probe.py", "--seconds", "1.2", "--interval", "0.1",
         "--no-load", "--out", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    values = dict(li.split(": ", 1) for li in out.read_text().splitlines() if ": " in li)
    assert values["nvsmi.state"] == "ok" and values["nvsmi.gpus"] == "2"
    assert int(values["nvsmi.samples"]) >= 6
    assert values["nvsmi.tz_utc_honored"] == "yes"
    assert values["nvsmi.gpu1.idle.util_mean"] == "n/a"  # [N/A] stays unknown
    assert float(values["nvsmi.gpu0.idle.mem_peak_mib"]) >= 1024
    assert values["result"] == "sampled"


def test_batches_are_frozen() -> None:
    b = TelemetryBatch("n", "ok", ())
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.state = "stale"  # type: ignore[misc]
