"""GPU probe: sample the GPUs of this machine with NVML (pynvml) and with the nvidia-smi stream
at the same time, first idle and then under a small load, and compare the two sources.

For a machine WITH an NVIDIA GPU. The load is a torch matmul loop when torch with CUDA is
importable; otherwise both phases are idle and the output says so. On a machine without a GPU
it prints why there is nothing to compare and exits 0.

    python bench/gpu_probe.py --seconds 20 --out gpu_probe.txt

Output: `name: value` lines on stdout and in --out. Raw nvidia-smi lines are kept (a few, as
`nvsmi.raw:` lines) so a real capture can be checked against the parser's test data.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.model import GpuSample  # noqa: E402
from engine.telemetry.nvml import NvmlSampler  # noqa: E402
from engine.telemetry.nvsmi import (  # noqa: E402
    classify_failure,
    first_line,
    parse_line,
    query_argv,
    stream_argv,
)
from engine.telemetry.stats import TelemetryStats  # noqa: E402
from tests.support.processes import stop as stop_process  # noqa: E402

RAW_LINES_KEPT = 24


class Report:
    """`name: value` lines, printed as they come and written to --out at the end."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, name: str, value: object) -> None:
        if isinstance(value, float):
            value = f"{value:.3f}"
        line = f"{name}: {'n/a' if value is None else value}"
        self.lines.append(line)
        print(line, flush=True)

    def write(self, out: Path | None) -> None:
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text("\n".join(self.lines) + "\n", encoding="utf-8")


def nvsmi_check(report: Report) -> tuple[str, list[GpuSample]]:
    if shutil.which("nvidia-smi") is None:
        report("nvsmi.state", "no-nvidia-smi")
        report("nvsmi.detail", "nvidia-smi is not on PATH")
        return "no-nvidia-smi", []
    env = {**os.environ, "TZ": "UTC"}
    try:
        res = subprocess.run(
            query_argv(), capture_output=True, text=True, timeout=30, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        report("nvsmi.state", "error")
        report("nvsmi.detail", "nvidia-smi did not answer within 30 s")
        return "error", []
    rows = [parse_line(li, "probe", tz=UTC) for li in res.stdout.splitlines()]
    rows = [r for r in rows if r is not None]
    if res.returncode != 0 or not rows:
        text = res.stdout + "\n" + res.stderr
        state = classify_failure(text, res.returncode)
        report("nvsmi.state", state)
        report("nvsmi.detail", first_line(text) or f"exit {res.returncode}, no GPU row")
        return state, []
    report("nvsmi.state", "ok")
    report("nvsmi.gpus", len(rows))
    return "ok", rows


class StreamReader:
    """The same `nvidia-smi -lms` stream the SSH sampler runs, read in a thread."""

    def __init__(self, interval_ms: int) -> None:
        self.samples: list[tuple[str, GpuSample]] = []
        self.raw: list[str] = []
        self.skews: list[float] = []
        self.phase = "idle"
        self.proc = subprocess.Popen(
            stream_argv(interval_ms),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "TZ": "UTC"},
        )
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if len(self.raw) < RAW_LINES_KEPT:
                self.raw.append(line.rstrip("\n"))
            s = parse_line(line, "probe", tz=UTC)
            if s is not None:
                self.skews.append(time.time() - s.ts)
                self.samples.append((self.phase, s))

    def stop(self) -> None:
        stop_process(self.proc)
        self.thread.join(5)


class NvmlReader:
    def __init__(self, sampler: NvmlSampler, interval_s: float) -> None:
        self.sampler = sampler
        self.interval_s = interval_s
        self.samples: list[tuple[str, GpuSample]] = []
        self.max_processes = 0
        self.phase = "idle"
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for s in self.sampler.sample("probe"):
                self.samples.append((self.phase, s))
            self.max_processes = max(self.max_processes, len(self.sampler.processes()))
            self._stop.wait(self.interval_s)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(10)


class TorchLoad:
    """A matmul loop on one GPU, in a thread; `tflops` is what it achieved."""

    def __init__(self, gpu: int, size: int) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(f"cuda:{gpu}")
        self.size = size
        self.iterations = 0
        self.elapsed = 0.0
        self.error: str | None = None
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        torch = self.torch
        try:
            a = torch.randn(self.size, self.size, device=self.device, dtype=torch.float16)
            b = torch.randn(self.size, self.size, device=self.device, dtype=torch.float16)
            torch.cuda.synchronize(self.device)
            t0 = time.perf_counter()
            while not self._stop.is_set():
                for _ in range(8):
                    a @ b  # noqa: B018 - the work is the point
                torch.cuda.synchronize(self.device)
                self.iterations += 8
            self.elapsed = time.perf_counter() - t0
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            self.error = f"{type(exc).__name__}: {exc}"

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(30)

    @property
    def tflops(self) -> float | None:
        if not self.elapsed:
            return None
        return 2 * self.size**3 * self.iterations / self.elapsed / 1e12


def torch_load(gpu: int, size: int, report: Report) -> TorchLoad | None:
    try:
        import torch
    except ImportError as exc:
        report("load", f"none (torch not importable: {exc}); both phases idle")
        return None
    if not torch.cuda.is_available():
        report("load", "none (torch sees no CUDA device); both phases idle")
        return None
    report("torch", torch.__version__)
    report("load", f"torch fp16 matmul {size}x{size} loop on cuda:{gpu}")
    return TorchLoad(gpu, size)


def compare(report: Report, nvml: list, nvsmi: list) -> None:
    """Per GPU and phase: each source's figures and their difference."""
    keys = sorted({(s.gpu, phase) for phase, s in nvml + nvsmi})
    for gpu, phase in keys:
        figures: dict[str, dict[str, float | None]] = {}
        for source, rows in (("nvml", nvml), ("nvsmi", nvsmi)):
            mine = [s for p, s in rows if p == phase and s.gpu == gpu]
            if not mine:
                continue
            st = TelemetryStats.of(mine)
            power = [s.power_w for s in mine if s.power_w is not None]
            clock = [s.sm_clock_mhz for s in mine if s.sm_clock_mhz is not None]
            figures[source] = {
                "samples": st.samples,
                "util_mean": st.util_mean,
                "util_max": st.util_max,
                "mem_peak_mib": st.mem_peak_mib,
                "power_mean_w": sum(power) / len(power) if power else None,
                "sm_clock_mean_mhz": sum(clock) / len(clock) if clock else None,
            }
            for name, value in figures[source].items():
                report(f"{source}.gpu{gpu}.{phase}.{name}", value)
        if len(figures) == 2:
            for name in ("util_mean", "mem_peak_mib", "power_mean_w"):
                a, b = figures["nvml"][name], figures["nvsmi"][name]
                diff = None if a is None or b is None else a - b
                report(f"diff.gpu{gpu}.{phase}.{name}", diff)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="total sampling time")
    ap.add_argument("--interval", type=float, default=0.5, help="seconds between readings")
    ap.add_argument("--gpu", type=int, default=0, help="GPU the load runs on")
    ap.add_argument("--size", type=int, default=8192, help="matmul size")
    ap.add_argument("--no-load", action="store_true", help="sample idle only")
    ap.add_argument("--out", type=Path, default=None, help="also write the lines here")
    args = ap.parse_args(argv)
    report = Report()
    try:
        return run(args, report)
    except Exception as exc:  # noqa: BLE001 - one line, and the file still comes back
        report("probe_error", f"{type(exc).__name__}: {exc}")
        return 1
    finally:
        report.write(args.out)


def run(args: argparse.Namespace, report: Report) -> int:
    report("host", platform.node())
    report("python", platform.python_version())
    sampler = NvmlSampler()
    nvml_state = sampler.open()
    report("nvml.state", nvml_state)
    report("nvml.detail", sampler.detail)
    nvsmi_state, rows = nvsmi_check(report)
    for r in rows:
        report(f"gpu{r.gpu}", f"{r.name}, {r.memory_total_mib} MiB")
    if nvml_state != "ok" and nvsmi_state != "ok":
        report("result", "no NVIDIA GPU on this machine: nothing to sample or compare")
        return 0

    load = None if args.no_load else torch_load(args.gpu, args.size, report)
    interval_ms = max(50, round(args.interval * 1000))
    stream = StreamReader(interval_ms) if nvsmi_state == "ok" else None
    nvml = NvmlReader(sampler, args.interval) if nvml_state == "ok" else None
    idle_s = args.seconds / 4 if load is not None else args.seconds / 2
    time.sleep(idle_s)
    for reader in (stream, nvml):
        if reader is not None:
            reader.phase = "load" if load is not None else "idle2"
    if load is not None:
        load.start()
    time.sleep(args.seconds - idle_s)
    if load is not None:
        load.stop()
    if stream is not None:
        stream.stop()
    if nvml is not None:
        nvml.stop()
    sampler.close()

    if load is not None:
        report("load.error", load.error)
        report("load.tflops_fp16", load.tflops)
    if nvml is not None:
        report("nvml.samples", len(nvml.samples))
        report("nvml.max_compute_processes", nvml.max_processes)
    if stream is not None:
        report("nvsmi.samples", len(stream.samples))
        if stream.skews:
            skew = sorted(stream.skews)[len(stream.skews) // 2]
            report("nvsmi.median_arrival_minus_timestamp_s", skew)
            report("nvsmi.tz_utc_honored", "yes" if abs(skew) < 60 else "no")
        for line in stream.raw:
            report("nvsmi.raw", line)
    compare(
        report,
        nvml.samples if nvml is not None else [],
        stream.samples if stream is not None else [],
    )
    report("result", "sampled" if (nvml or stream) else "nothing sampled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
