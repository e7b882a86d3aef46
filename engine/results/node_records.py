"""The node parts of a run summary: what the node was (`HostRecord`: OS, Python, LoadGen,
GPUs as probed) and what its GPUs did during the run (`TelemetryRecord`). Read with the same
rule as the rest of the schema (`engine.results.coerce`): the wrong type reads as missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.results.coerce import as_float, as_int, as_mapping, as_str


@dataclass(frozen=True)
class HostGpu:
    index: int | None
    name: str | None
    memory_total_mib: float | None = None
    uuid: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "memory_total_mib": self.memory_total_mib,
            "uuid": self.uuid,
        }

    @classmethod
    def from_json(cls, data: Any) -> HostGpu:
        d = as_mapping(data)
        return cls(
            as_int(d.get("index")),
            as_str(d.get("name")),
            as_float(d.get("memory_total_mib")),
            as_str(d.get("uuid")),
        )


@dataclass(frozen=True)
class HostRecord:
    """What the preflight probe learned about the node (None: not probed)."""

    os: str | None = None
    python: str | None = None
    loadgen_version: str | None = None
    gpu_state: str | None = "unknown"
    driver: str | None = None
    gpus: tuple[HostGpu, ...] = ()
    # What a submission's systems/<system>.json asks of the host (engine.submission.export).
    os_name: str | None = None
    cpu_model: str | None = None
    cpu_cores: int | None = None  # per processor
    cpu_sockets: int | None = None
    memory_bytes: int | None = None  # MemTotal

    def to_json(self) -> dict[str, Any]:
        return {
            "os": self.os,
            "python": self.python,
            "loadgen_version": self.loadgen_version,
            "gpu_state": self.gpu_state,
            "driver": self.driver,
            "gpus": [g.to_json() for g in self.gpus],
            "os_name": self.os_name,
            "cpu_model": self.cpu_model,
            "cpu_cores": self.cpu_cores,
            "cpu_sockets": self.cpu_sockets,
            "memory_bytes": self.memory_bytes,
        }

    @classmethod
    def from_json(cls, data: Any) -> HostRecord:
        d = as_mapping(data)
        gpus = d.get("gpus") if isinstance(d.get("gpus"), list) else []
        return cls(
            os=as_str(d.get("os")),
            python=as_str(d.get("python")),
            loadgen_version=as_str(d.get("loadgen_version")),
            gpu_state=as_str(d.get("gpu_state")),
            driver=as_str(d.get("driver")),
            gpus=tuple(HostGpu.from_json(g) for g in gpus if isinstance(g, Mapping)),
            os_name=as_str(d.get("os_name")),
            cpu_model=as_str(d.get("cpu_model")),
            cpu_cores=as_int(d.get("cpu_cores")),
            cpu_sockets=as_int(d.get("cpu_sockets")),
            memory_bytes=as_int(d.get("memory_bytes")),
        )


@dataclass(frozen=True)
class GpuUsage:
    """One GPU over one run (`engine.telemetry.stats.TelemetryStats` as recorded)."""

    gpu: int | None
    name: str | None = None
    samples: int | None = None
    util_mean: float | None = None
    util_p95: float | None = None
    util_max: float | None = None
    mem_peak_mib: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # the other recorded fields, kept

    def to_json(self) -> dict[str, Any]:
        return {
            **self.extra,
            "gpu": self.gpu,
            "name": self.name,
            "samples": self.samples,
            "util_mean": self.util_mean,
            "util_p95": self.util_p95,
            "util_max": self.util_max,
            "mem_peak_mib": self.mem_peak_mib,
        }

    @classmethod
    def from_json(cls, data: Any) -> GpuUsage:
        d = as_mapping(data)
        known = ("gpu", "name", "samples", "util_mean", "util_p95", "util_max", "mem_peak_mib")
        return cls(
            gpu=as_int(d.get("gpu")),
            name=as_str(d.get("name")),
            samples=as_int(d.get("samples")),
            util_mean=as_float(d.get("util_mean")),
            util_p95=as_float(d.get("util_p95")),
            util_max=as_float(d.get("util_max")),
            mem_peak_mib=as_float(d.get("mem_peak_mib")),
            extra={k: v for k, v in d.items() if k not in known},
        )


@dataclass(frozen=True)
class TelemetryRecord:
    """GPU telemetry over the run: `state` says why there is none when `gpus` is empty."""

    state: str | None = "not recorded"
    detail: str | None = None
    samples: int | None = None
    gpus: tuple[GpuUsage, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state}
        if self.detail is not None:
            out["detail"] = self.detail
        if self.samples is not None:
            out["samples"] = self.samples
        return out | {"gpus": [g.to_json() for g in self.gpus]}

    @classmethod
    def from_json(cls, data: Any) -> TelemetryRecord:
        d = as_mapping(data)
        gpus = d.get("gpus") if isinstance(d.get("gpus"), list) else []
        return cls(
            state=as_str(d.get("state")),
            detail=as_str(d.get("detail")),
            samples=as_int(d.get("samples")),
            gpus=tuple(GpuUsage.from_json(g) for g in gpus if isinstance(g, Mapping)),
        )


# --- the run summary ---------------------------------------------------------------------------
