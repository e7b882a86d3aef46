"""The controller's own GPUs through NVML (pynvml, from the nvidia-ml-py package).

Every call blocks (NVML talks to the driver), so the async sampler runs them in a thread.
pynvml is imported on `open()`, never at import time. Each reading is taken on its own: a GPU
that cannot report one (utilization on a MIG-enabled GPU raises NVMLError_NotSupported) gets
None for that field and keeps the others.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.model import GpuSample

_MIB = 1024 * 1024


@dataclass(frozen=True)
class GpuProcess:
    """A compute process on a GPU; `used_memory_mib` is None where NVML cannot say (e.g.
    under MIG or without permission)."""

    gpu: int
    pid: int
    used_memory_mib: float | None


class NvmlSampler:
    """Reads the controller's GPUs. `open()` says whether it can; `sample()` reads them all.

    `indices` limits sampling to those GPU indices (None: every GPU NVML lists). Thread-safe:
    `close()` waits for a `sample()` in progress.
    """

    def __init__(self, indices: Sequence[int] | None = None) -> None:
        self.indices = tuple(indices) if indices is not None else None
        self.state = "closed"
        self.detail = ""
        self._nvml: Any = None
        self._handles: list[tuple[int, Any]] = []
        self._lock = threading.Lock()

    def open(self) -> str:
        """'ok', 'no-driver' (NVML cannot start: no library, no driver, no GPU; the reason is
        kept in `detail`) or 'error' (pynvml itself is missing)."""
        with self._lock:
            try:
                import pynvml
            except ImportError as exc:
                return self._set("error", f"pynvml (nvidia-ml-py) is not importable: {exc}")
            try:
                pynvml.nvmlInit()
            except pynvml.NVMLError as exc:
                return self._set("no-driver", f"NVML did not start: {_reason(exc)}")
            except OSError as exc:  # a broken libnvidia-ml.so that fails to load
                return self._set("no-driver", f"NVML did not start: {exc}")
            self._nvml = pynvml
            try:
                count = pynvml.nvmlDeviceGetCount()
                handles = [(i, pynvml.nvmlDeviceGetHandleByIndex(i)) for i in range(count)]
            except pynvml.NVMLError as exc:
                self._shutdown()
                return self._set("no-driver", f"NVML could not list the GPUs: {_reason(exc)}")
            if self.indices is not None:
                handles = [(i, h) for i, h in handles if i in self.indices]
            if not handles:
                self._shutdown()
                wanted = f" among gpus {list(self.indices)}" if self.indices is not None else ""
                return self._set("no-driver", f"NVML lists no GPU{wanted} (found {count})")
            self._handles = handles
            return self._set("ok", f"{len(handles)} GPU(s) through NVML")

    def sample(self, node: str) -> list[GpuSample]:
        """One reading of every open GPU, all stamped with the same time; [] unless open."""
        with self._lock:
            if self.state != "ok":
                return []
            nv = self._nvml
            now = time.time()
            out = []
            for index, h in self._handles:
                util = _read(lambda h=h: nv.nvmlDeviceGetUtilizationRates(h).gpu, nv)
                mem = _read(lambda h=h: nv.nvmlDeviceGetMemoryInfo(h), nv)
                power_mw = _read(lambda h=h: nv.nvmlDeviceGetPowerUsage(h), nv)
                out.append(
                    GpuSample(
                        ts=now,
                        node=node,
                        gpu=index,
                        utilization_pct=_float(util),
                        memory_used_mib=None if mem is None else mem.used / _MIB,
                        memory_total_mib=None if mem is None else mem.total / _MIB,
                        temperature_c=_float(
                            _read(
                                lambda h=h: nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU),
                                nv,
                            )
                        ),
                        power_w=None if power_mw is None else power_mw / 1000.0,
                        sm_clock_mhz=_float(
                            _read(lambda h=h: nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_SM), nv)
                        ),
                        name=_text(_read(lambda h=h: nv.nvmlDeviceGetName(h), nv)),
                    )
                )
            return out

    def processes(self) -> list[GpuProcess]:
        """Compute processes on the open GPUs right now ([] unless open)."""
        with self._lock:
            if self.state != "ok":
                return []
            nv = self._nvml
            found = []
            for index, h in self._handles:
                procs = _read(lambda h=h: nv.nvmlDeviceGetComputeRunningProcesses(h), nv) or []
                for p in procs:
                    used = getattr(p, "usedGpuMemory", None)
                    found.append(
                        GpuProcess(index, int(p.pid), None if used is None else used / _MIB)
                    )
            return found

    def close(self) -> None:
        with self._lock:
            if self.state == "ok":
                self._shutdown()
                self.state = "closed"

    def _set(self, state: str, detail: str) -> str:
        self.state, self.detail = state, detail
        return state

    def _shutdown(self) -> None:
        self._handles = []
        if self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except self._nvml.NVMLError:
                pass
            self._nvml = None


def _read(call: Callable[[], Any], nv: Any) -> Any:
    """One NVML reading, None when the GPU cannot give it (not supported, GPU lost ...)."""
    try:
        return call()
    except nv.NVMLError:
        return None


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    return value or None


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
