"""The node parts of a run summary: what the node was (`HostRecord`: OS, Python, LoadGen,
GPUs as probed) and what its GPUs did during the run (`TelemetryRecord`). Read with the same
rule as the rest of the schema (`engine.results.coerce`): the wrong type reads as missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from engine.results.coerce import as_mapping
from engine.results.record import (
    JsonRecord,
    record_from_json,
    record_to_json,
    records_from_json,
)


@dataclass(frozen=True)
class HostGpu(JsonRecord):
    index: int | None
    name: str | None
    memory_total_mib: float | None = None
    uuid: str | None = None


@dataclass(frozen=True)
class HostRecord(JsonRecord):
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

    @classmethod
    def from_json(cls, data: Any) -> HostRecord:
        gpus = records_from_json(HostGpu.from_json, as_mapping(data).get("gpus"))
        return record_from_json(cls, data, gpus=gpus)


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
        return {**self.extra, **record_to_json(self, skip=("extra",))}

    @classmethod
    def from_json(cls, data: Any) -> GpuUsage:
        known = {f.name for f in fields(cls)} - {"extra"}
        extra = {k: v for k, v in as_mapping(data).items() if k not in known}
        return record_from_json(cls, data, extra=extra)


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
        gpus = records_from_json(GpuUsage.from_json, as_mapping(data).get("gpus"))
        return record_from_json(cls, data, gpus=gpus)


# --- the run summary ---------------------------------------------------------------------------
