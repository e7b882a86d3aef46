"""GPU telemetry: NVML for the controller's own GPUs, `nvidia-smi -lms` streams for SSH nodes,
telemetry.csv per run, and the per-GPU statistics its summary records.

Modules: `nvsmi` (nvidia-smi's CSV and its failures), `nvml` (pynvml, imported lazily),
`sampler` (the per-node async loop), `record` (telemetry.csv and telemetry.state.json),
`stats` (mean / p95 / max utilization, peak memory), `run_telemetry` (one run, start to stop).
"""

from __future__ import annotations

import importlib
from typing import Any

# Each name's module, imported on first use (PEP 562): a reader of telemetry.csv (the charts,
# drawn in a process of their own by `mlconsole report`) imports `record` alone, not the
# sampler, NVML and the event bus (0.15 s of imports on two cores).
_MODULES = {
    "GpuProcess": "nvml",
    "NvmlSampler": "nvml",
    "FIELDS": "nvsmi",
    "classify_failure": "nvsmi",
    "parse_line": "nvsmi",
    "stream_argv": "nvsmi",
    "HEADER": "record",
    "STATE_FILE": "record",
    "TelemetryRecorder": "record",
    "read_state": "record",
    "read_telemetry": "record",
    "write_no_telemetry": "record",
    "TELEMETRY_CSV": "run_telemetry",
    "RunTelemetry": "run_telemetry",
    "TelemetryBatch": "sampler",
    "sample_node": "sampler",
    "TelemetryStats": "stats",
    "gpu_stats": "stats",
    "summarize": "stats",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULES])


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
