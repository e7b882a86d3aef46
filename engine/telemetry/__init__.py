"""GPU telemetry: NVML for the controller's own GPUs, `nvidia-smi -lms` streams for SSH nodes,
telemetry.csv per run, and the per-GPU statistics its summary records.

Modules: `nvsmi` (nvidia-smi's CSV and its failures), `nvml` (pynvml, imported lazily),
`sampler` (the per-node async loop), `record` (telemetry.csv and telemetry.state.json),
`stats` (mean / p95 / max utilization, peak memory), `run_telemetry` (one run, start to stop).
"""

from engine.telemetry.nvml import GpuProcess, NvmlSampler
from engine.telemetry.nvsmi import FIELDS, classify_failure, parse_line, stream_argv
from engine.telemetry.record import (
    HEADER,
    STATE_FILE,
    TelemetryRecorder,
    read_state,
    read_telemetry,
    write_no_telemetry,
)
from engine.telemetry.run_telemetry import TELEMETRY_CSV, RunTelemetry
from engine.telemetry.sampler import TelemetryBatch, sample_node
from engine.telemetry.stats import TelemetryStats, gpu_stats, summarize

__all__ = [
    "FIELDS",
    "HEADER",
    "STATE_FILE",
    "TELEMETRY_CSV",
    "GpuProcess",
    "NvmlSampler",
    "RunTelemetry",
    "TelemetryBatch",
    "TelemetryRecorder",
    "TelemetryStats",
    "classify_failure",
    "gpu_stats",
    "parse_line",
    "read_state",
    "read_telemetry",
    "sample_node",
    "stream_argv",
    "summarize",
    "write_no_telemetry",
]
