#!/usr/bin/env python3
"""`trace_bytes_per_sample`, `trace_bytes_per_s`: how LoadGen's trace grows, the constants of
engine/loadgen/trace_size.py (what mlconsole states before a run turns the trace on); and
`settings_probe_s`: one settings probe of four runs on the local node (what a plan's start and
`mlconsole check` pay per node and round).

The trace: two real LoadGen Server runs of about 10 s each with token latencies on (50 and
400 samples; a SUT that answers after 1 ms), their trace sizes solved for a per-sample and a
per-second cost. The probe: `engine.probe.settings.probe_settings` over the local transport,
median of 5.
"""

from __future__ import annotations

import array
import asyncio
import os
import sys
import tempfile
import threading
import time

from figure_lines import figure, load_average, machine, median, note, spread, use_repo

use_repo()


def server_trace(samples: int, qps: float) -> tuple[int, float]:
    import mlperf_loadgen as lg

    out = tempfile.mkdtemp(prefix="bench-trace-")
    s = lg.TestSettings()
    s.scenario = lg.TestScenario.Server
    s.mode = lg.TestMode.PerformanceOnly
    s.min_duration_ms = 0
    s.min_query_count = samples
    s.performance_sample_count_override = samples
    s.server_target_qps = qps
    s.use_token_latencies = True
    data = array.array("i", [1, 2])
    ptr, _ = data.buffer_info()

    def issue(qs):
        ids = [q.id for q in qs]

        def done():
            time.sleep(0.001)
            lg.FirstTokenComplete([lg.QuerySampleResponse(i, ptr, 4) for i in ids])
            lg.QuerySamplesComplete([lg.QuerySampleResponse(i, ptr, 8, 2) for i in ids])

        threading.Thread(target=done).start()

    log = lg.LogSettings()
    log.log_output.outdir = out
    log.enable_trace = True
    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(samples, samples, lambda x: None, lambda x: None)
    t0 = time.monotonic()
    lg.StartTestWithLogSettings(sut, qsl, s, log, "")
    elapsed = time.monotonic() - t0
    lg.DestroySUT(sut)
    lg.DestroyQSL(qsl)
    return os.path.getsize(os.path.join(out, "mlperf_log_trace.json")), elapsed


async def probe_once() -> float:
    from engine.model import NodeSpec
    from engine.probe.settings import ProbeRequest, probe_settings
    from engine.transport.local import LocalTransport

    t = LocalTransport(NodeSpec("local", python=sys.executable))
    reqs = [
        ProbeRequest(str(i), sc, "performance", "llama3_1-8b", 100, "")
        for i, sc in enumerate(("Offline", "Server", "SingleStream", "MultiStream"))
    ]
    t0 = time.perf_counter()
    answers = await probe_settings(t, reqs)
    took = time.perf_counter() - t0
    assert all(a.ok for a in answers), [a.error for a in answers]
    return took


def main() -> None:
    print(f"machine: {machine()}; load {load_average()}")
    small, t_small = server_trace(50, 5.0)
    large, t_large = server_trace(400, 40.0)
    # small = a*50 + b*t_small; large = a*400 + b*t_large
    b = (small * 400 - large * 50) / (t_small * 400 - t_large * 50)
    a = (small - b * t_small) / 50
    note(f"trace: 50 samples in {t_small:.2f} s: {small} B")
    note(f"trace: 400 samples in {t_large:.2f} s: {large} B")
    figure("trace_bytes_per_sample", a)
    figure("trace_bytes_per_s", b)
    times = [asyncio.run(probe_once()) for _ in range(5)]
    note(f"settings probe, 4 runs on the local node: {spread(times, 's')}")
    figure("settings_probe_s", median(times))


if __name__ == "__main__":
    main()
