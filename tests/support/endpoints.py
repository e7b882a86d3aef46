"""Bundled simulated endpoints (`python -m engine.harness.endpoint`) as real processes on
loopback ports, for the fleet tests and benches. A vLLM server cannot run here (no GPU); this
one speaks vLLM's HTTP API and says it is simulated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support import processes
from tests.support.paths import REPO_ROOT

if TYPE_CHECKING:
    from engine.fleet.run import FleetRequest


@dataclass
class SimEndpoint:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def control(self, **change: object) -> dict:
        """POST /simulation (speed, fault, fault_count); returns the new state."""
        req = urllib.request.Request(
            self.url + "/simulation", data=json.dumps(change).encode(), method="POST"
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read())

    def state(self) -> dict:
        with urllib.request.urlopen(self.url + "/simulation", timeout=5) as resp:
            return json.loads(resp.read())

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def stop(self) -> None:
        processes.stop(self.proc)


@dataclass
class EndpointLab:
    root: Path
    endpoints: list[SimEndpoint] = field(default_factory=list)

    def start(
        self,
        *,
        tokens_per_s: float = 2000.0,
        concurrency: int = 8,
        prefill_ms: float = 5.0,
        stream_interval: int = 1,
        model: str = "sim-llm",
        extra: tuple[str, ...] = (),
    ) -> SimEndpoint:
        n = len(self.endpoints)
        port_file = self.root / f"endpoint{n}.port"
        log = self.root / f"endpoint{n}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "engine.harness.endpoint",
                    "--port",
                    "0",
                    "--port-file",
                    str(port_file),
                    "--model",
                    model,
                    "--tokens-per-s",
                    str(tokens_per_s),
                    "--concurrency",
                    str(concurrency),
                    "--prefill-ms",
                    str(prefill_ms),
                    "--stream-interval",
                    str(stream_interval),
                    *extra,
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
                env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            )
        deadline = time.monotonic() + 15
        while not port_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the simulated endpoint did not start: {log.read_text()}")
            time.sleep(0.01)
        ep = SimEndpoint(int(port_file.read_text()), proc, log)
        self.endpoints.append(ep)
        return ep

    def close(self) -> None:
        for ep in self.endpoints:
            ep.stop()


def sim_request(samples: int, loadgen_model: str, max_tokens: int, **kw: object) -> FleetRequest:
    """A fleet request to the simulated endpoints (their model `sim-llm`, a synthetic dataset,
    Offline performance unless `kw` says otherwise)."""
    from engine.fleet import api  # here: the fixtures plugin imports this module for every test
    from engine.fleet.run import FleetRequest

    base: dict[str, object] = {
        "scenario": "Offline",
        "mode": "performance",
        "samples": samples,
        "loadgen_model": loadgen_model,
        "dataset": "synthetic",
        "sampling": api.Sampling(max_tokens=max_tokens),
        "served_model": "sim-llm",
    }
    return FleetRequest(**{**base, **kw})  # type: ignore[arg-type]
